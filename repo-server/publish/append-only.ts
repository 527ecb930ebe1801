// "This list is that list plus some at the end", known without comparing 100k entries: code
// that builds a list by appending to a copy of another records the fact; checks walk those
// records first and compare element by element only when there are none.

// Weak both ways: a record must not keep the older list alive (each publish makes a new copy
// of a 100k-entry list; a strong chain would keep every one of them).
const extensionOf = new WeakMap<readonly unknown[], WeakRef<readonly unknown[]>>();

/** Records that `next` begins with every element of `prev`, in order (call only when true). */
export function markExtends<T>(prev: readonly T[], next: readonly T[]): void {
  if (next !== prev) extensionOf.set(next, new WeakRef(prev));
}

/** How far back the recorded chain is followed before falling back to comparing. */
const MAX_CHAIN = 16;

/** Whether the records say that `next` extends `prev` (no element is compared). */
function recorded(prev: readonly unknown[], next: readonly unknown[]): boolean {
  let at: readonly unknown[] | undefined = next;
  for (let i = 0; at !== undefined && i < MAX_CHAIN; i++, at = extensionOf.get(at)?.deref()) if (at === prev) return true;
  return false;
}

/** The length of the longest common prefix of two lists (by identity). */
export function commonPrefix<T>(a: readonly T[], b: readonly T[]): number {
  if (a.length <= b.length ? recorded(a, b) : recorded(b, a)) return Math.min(a.length, b.length);
  const max = Math.min(a.length, b.length);
  let same = 0;
  while (same < max && a[same] === b[same]) same++;
  return same;
}

/** Whether `next` begins with all of `prev`: the same objects, in the same order. */
export function extendsArray<T>(prev: readonly T[], next: readonly T[]): boolean {
  return next.length >= prev.length && commonPrefix(prev, next) === prev.length;
}
