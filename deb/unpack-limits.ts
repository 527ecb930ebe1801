// How much decompression one package may cost. A .deb's members are compressed, and a small
// upload can unpack to gigabytes (a "decompression bomb": tar of zeros, ratios over 1000:1 with
// gzip and far more with xz or zstd). Every reader counts the bytes it unpacks against a budget
// per package and stops at it, so a check never does more than a bounded amount of work.

export interface UnpackLimits {
  /** Absolute cap on the decompressed bytes of all members of one package. */
  maxUnpacked: number;
  /** Cap on decompressed / compressed (package size), enforced only above `ratioFloor`. */
  maxRatio: number;
  /** Decompressed bytes any package may reach whatever its ratio (tiny packages compress well). */
  ratioFloor: number;
}

/**
 * 8 GiB absolute: above the largest packages Debian ships (game data, firmware, toolchains
 * unpack to a few GiB) while bounding a check to about a minute of decompression. Ratio 200:
 * real payloads compress 2-10x (text and sparse files rarely past 50x); bombs run at 1000x
 * (gzip) to 10^5x (zstd, xz). The 64 MiB floor lets small packages of very compressible files
 * (zeroed images, generated tables) through whatever their ratio, for a trivial cost.
 */
export const DEFAULT_UNPACK_LIMITS: UnpackLimits = {
  maxUnpacked: 8 * 1024 ** 3,
  maxRatio: 200,
  ratioFloor: 64 * 1024 ** 2,
};

export class UnpackLimitError extends Error {}

/**
 * What one archive entry costs on top of its bytes: unpacking it takes at least an inode and a
 * block (4 KiB) whatever its header says, and checking it costs a header parse. Without it a
 * 43 KB upload of a million empty entries spent 2.5 s of CPU in header parsing before the bytes
 * alone reached the 64 MiB floor; with it the floor is reached after ~14,000 entries. Real
 * packages with many files are large enough that their ratio budget covers this many times over.
 */
export const ENTRY_COST = 4096;

/** "8 GiB", "64 MiB", "265 KiB", "17 bytes": for messages. */
export function formatBytes(n: number): string {
  const units = ['GiB', 'MiB', 'KiB'];
  for (const [i, u] of units.entries()) {
    const scale = 1024 ** (units.length - i);
    if (n >= scale) {
      const v = n / scale;
      return `${Number.isInteger(v) ? v : v.toFixed(1)} ${u}`;
    }
  }
  return `${n} bytes`;
}

/** The decompressed bytes a package of `packedSize` bytes may reach under `limits`. */
export function unpackBudget(limits: UnpackLimits, packedSize: number): number {
  return Math.min(limits.maxUnpacked, Math.max(limits.ratioFloor, limits.maxRatio * packedSize));
}

/** Counts one package's decompressed bytes, all members together, against its budget. */
export class UnpackMeter {
  readonly budget: number;
  private used = 0;
  private entries = 0;

  constructor(
    private readonly limits: UnpackLimits,
    private readonly packedSize: number,
  ) {
    this.budget = unpackBudget(limits, packedSize);
  }

  get remaining(): number {
    return Math.max(0, this.budget - this.used);
  }

  /** Records `n` more bytes; throws UnpackLimitError once the budget is exceeded. */
  add(n: number): void {
    this.used += n;
    if (this.used > this.budget) throw this.exceeded();
  }

  /** Records one archive entry (ENTRY_COST bytes); throws like add(). */
  addEntry(): void {
    this.entries++;
    this.add(ENTRY_COST);
  }

  exceeded(): UnpackLimitError {
    const { maxUnpacked, maxRatio, ratioFloor } = this.limits;
    const why = this.budget === maxUnpacked
      ? `at most ${formatBytes(maxUnpacked)} per package`
      : `${maxRatio} times the package's ${formatBytes(this.packedSize)}, at least ${formatBytes(ratioFloor)}`;
    // Bytes and entries feed one budget; which of them crosses it first is a matter of timing,
    // so the message names the entry cost whenever entries were counted.
    const perEntry = this.entries > 0 ? ` (${ENTRY_COST} bytes counted per entry, ${this.entries} entries)` : '';
    return new UnpackLimitError(`unpacks to more than ${formatBytes(this.budget)} (limit: ${why}); refused as a possible decompression bomb${perEntry}`);
  }
}
