/**
 * Closed-form inner products of power-function EMA profiles (MATH.md "Reconstruction").
 * A profile is (time t > 0, exponent gamma > 0); all functions are pure float64.
 */

export interface Profile {
  readonly time: number;
  readonly gamma: number;
}

/**
 * <p_a, p_b> = (ga+1)(gb+1) / ((ga+gb+1) max(ta,tb)) * r,
 * r = (ta/tb)^gb if ta <= tb, else (tb/ta)^ga.
 * The ratio is always taken as (earlier / later) <= 1 so the power never overflows.
 */
export function profileInnerProduct(a: Profile, b: Profile): number {
  const scale = ((a.gamma + 1) * (b.gamma + 1)) / (a.gamma + b.gamma + 1);
  if (a.time <= b.time) return (scale / b.time) * (a.time / b.time) ** b.gamma;
  return (scale / a.time) * (b.time / a.time) ** a.gamma;
}

/** <p_r, p_r> = (gamma+1)^2 / ((2 gamma + 1) t). */
export function profileSelfInnerProduct(p: Profile): number {
  return (p.gamma + 1) ** 2 / ((2 * p.gamma + 1) * p.time);
}

/**
 * Gram matrix A_ij = <p_i, p_j>, row-major n x n. Only the upper triangle is computed and mirrored:
 * entry-by-entry evaluation rounds (a/b)^g and (b/a)^-g differently, which would make A slightly
 * asymmetric and defeat symmetric solvers.
 */
export function gramMatrix(profiles: readonly Profile[]): Float64Array {
  const n = profiles.length;
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const value = profileInnerProduct(profiles[i], profiles[j]);
      a[i * n + j] = value;
      a[j * n + i] = value;
    }
  }
  return a;
}

/** B_ij = <p_i, target_j>: one row per snapshot, one column per target. */
export function crossMatrix(snapshots: readonly Profile[], targets: readonly Profile[]): number[][] {
  return snapshots.map((snapshot) => targets.map((target) => profileInnerProduct(snapshot, target)));
}
