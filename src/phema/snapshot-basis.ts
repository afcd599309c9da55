/**
 * The snapshots' side of the least-squares system (MATH.md "Reconstruction"): their Gram matrix and
 * their inner products with any target profile. The solve sees only this interface, so it does not
 * care whether the snapshots have nominal power profiles or realised ones (realised-profile.ts).
 * Times are in units of the target time.
 */
import { gramMatrix, type Profile } from './inner-product.js';
import { powerTargetProduct, type TargetProfile } from './target-profile.js';

export interface SnapshotBasis {
  readonly size: number;
  /** A_ij = <p_i, p_j>, row-major size x size, exactly symmetric. */
  gram(): Float64Array;
  /** B_ij = <p_i, target_j>: one row per snapshot, one column per target. */
  cross(targets: readonly TargetProfile[]): number[][];
}

/** Snapshots with their nominal power profiles. */
export function powerBasis(profiles: readonly Profile[]): SnapshotBasis {
  return {
    size: profiles.length,
    gram: () => gramMatrix(profiles),
    cross: (targets) => profiles.map((profile) => targets.map((target) => powerTargetProduct(profile, target))),
  };
}
