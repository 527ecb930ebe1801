// A modal dialog that keeps keyboard focus inside itself (Tab and Shift+Tab cycle), closes on
// Escape, and gives focus back to what opened it. A layout effect, not a passive one: Preact 11
// runs a passive effect's cleanup after the next paint, once the dialog has left the page, so
// the focus sat on <body> until then (what the CI saw); a layout cleanup runs while the dialog
// is still there. What opened it is the element focused as it mounts, or else the last button
// pressed (Safari does not focus a button on click); if that element has been replaced by a
// re-render, the button with the same label takes the focus.
import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

const FOCUSABLE = 'button:not([disabled]), input:not([disabled]), select:not([disabled]), a[href], [tabindex]:not([tabindex="-1"])';

/** The last button a click (pointer, Enter or Space) pressed, page-wide. */
let lastPressed: HTMLElement | null = null;
document.addEventListener('click', (e) => (lastPressed = (e.target as Element | null)?.closest<HTMLElement>('button') ?? null), true);

/** Where the focus goes back to: `opener` itself, or its stand-in after a re-render. */
function returnTarget(opener: HTMLElement | null): HTMLElement | null {
  if (!opener || opener.isConnected) return opener;
  const label = opener.textContent;
  return [...document.querySelectorAll<HTMLElement>(opener.tagName)].find((el) => el.textContent === label) ?? null;
}

export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ComponentChildren }) {
  const box = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    const active = document.activeElement as HTMLElement | null;
    const opener = active && active !== document.body && !box.current?.contains(active) ? active : lastPressed;
    const first = box.current?.querySelector<HTMLElement>(FOCUSABLE);
    (first ?? box.current)?.focus();
    return () => returnTarget(opener)?.focus();
  }, []);
  const onKey = (e: KeyboardEvent) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      onClose();
      return;
    }
    if (e.key !== 'Tab' || !box.current) return;
    const items = [...box.current.querySelectorAll<HTMLElement>(FOCUSABLE)];
    if (items.length === 0) return e.preventDefault();
    const i = items.indexOf(document.activeElement as HTMLElement);
    const next = e.shiftKey ? (i <= 0 ? items.length - 1 : i - 1) : i === items.length - 1 ? 0 : i + 1;
    e.preventDefault();
    items[next]!.focus();
  };
  return (
    <div class="backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="dialog-title" ref={box} tabIndex={-1} onKeyDown={onKey}>
        <h2 id="dialog-title">{title}</h2>
        {children}
      </div>
    </div>
  );
}
