/**
 * A stable identity for a sweep target. sigma_rel values come from user lists (`0.1,0.15`),
 * computed grids (`0.02 + 3 * 0.03 = 0.11000000000000001`) and refinement steps; rounding them to a
 * fixed number of significant digits makes the same target compare equal across runs, so resume
 * finds it in sweep.jsonl and file names stay short.
 */

/** Significant digits kept: resolution below 1e-6 for any sigma_rel < 1, far finer than a sweep. */
export const SIGMA_REL_DIGITS = 6;

/** sigma_rel rounded to SIGMA_REL_DIGITS significant digits (0.11000000000000001 -> 0.11). */
export function roundSigmaRel(sigmaRel: number): number {
  return Number(sigmaRel.toPrecision(SIGMA_REL_DIGITS));
}

/**
 * Key of an evaluated target: rounded sigma_rel and the reconstruction time (to 12 significant
 * digits, so a time recomputed as 1000.0000000001 still matches 1000).
 */
export function targetKey(sigmaRel: number, time: number): string {
  return `${roundSigmaRel(sigmaRel)}@${Number(time.toPrecision(12))}`;
}
