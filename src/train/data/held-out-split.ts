import { hash32 } from '../rng.js';

/**
 * Chooses which images of a folder are held out for evaluation. The choice depends only on each
 * file's name (its hash), not on listing order or on the other files, so adding images to a folder
 * keeps most earlier choices and two machines agree on the split.
 */
export interface SplitOptions {
  /** Fraction of the images held out (default 0.1). */
  readonly fraction: number;
  /** At most this many held out (default 1024; evaluation cost grows with it). */
  readonly max: number;
}

export const DEFAULT_SPLIT: SplitOptions = { fraction: 0.1, max: 1024 };

export function nameHash(name: string): number {
  let h = 0x811c9dc5; // FNV-1a over UTF-16 code units, then mixed
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return hash32(h);
}

/**
 * Returns the held-out subset of `names`: at least one image when there are two or more (so
 * `evaluate` always has data), none for a single image.
 */
export function heldOutNames(names: readonly string[], options: SplitOptions = DEFAULT_SPLIT): Set<string> {
  if (names.length < 2) return new Set();
  const count = Math.min(options.max, names.length - 1, Math.max(1, Math.round(names.length * options.fraction)));
  const ranked = [...names].sort((a, b) => nameHash(a) - nameHash(b) || (a < b ? -1 : a > b ? 1 : 0));
  return new Set(ranked.slice(0, count));
}
