/**
 * `--match ema-pytorch`: the coefficients ema-pytorch's synthesize_ema_model applies, so users can
 * compare the two tools. What it computes (ema_pytorch/post_hoc_ema.py):
 *
 * - every `*.pt` in the folder is a snapshot, including those later than the target step;
 * - t_i = the step in the file name; gamma_i = the profile's gamma held in a float32 tensor
 *   (so rounded to float32), likewise the target gamma; the target time is the requested step
 *   (default: the largest step; larger ones are refused);
 * - A_ij = <p_i, p_j>, b_i = <p_i, p_r> in float64 with
 *   <p_a, p_b> = (g_a + 1)(g_b + 1) (t_a / t_b)^e / ((g_a + g_b + 1) max(t_a, t_b)),
 *   e = g_b if t_a < t_b else -g_a;
 * - x = solve(A, b) (LU), used as is: no normalisation to sum 1;
 * - out = sum_i x_i * snapshot_i over the EMA model's floating-point tensors, accumulated in the
 *   model's dtype (float32 usually) in glob order; `step`/`initted` are not blended. We blend these
 *   weights with the usual float64 engine and round once, so outputs differ from ema-pytorch's
 *   float32 sums by their rounding only (test/pytorch-discovery.test.ts bounds it).
 * Pure math on ml-matrix; no I/O.
 */
import { Matrix, solve } from 'ml-matrix';

export interface EmaPytorchSnapshotTime {
  /** The step from `<index>.<step>.pt`. */
  readonly step: number;
  /** The profile's gamma in float64 (this function rounds it to float32 as ema-pytorch does). */
  readonly gamma: number;
}

/** ema-pytorch's inner product of two power-function profiles, operation for operation. */
export function emaPytorchInnerProduct(tA: number, gammaA: number, tB: number, gammaB: number): number {
  const exponent = tA < tB ? gammaB : -gammaA;
  return ((gammaA + 1) * (gammaB + 1) * (tA / tB) ** exponent) / ((gammaA + gammaB + 1) * Math.max(tA, tB));
}

/**
 * The weights synthesize_ema_model(gamma=target.gamma, step=target.step) gives each snapshot,
 * in the order given. Throws a RangeError (for the caller to put in context) when the target
 * step is beyond the last snapshot, as ema-pytorch asserts.
 */
export function emaPytorchWeights(snapshots: readonly EmaPytorchSnapshotTime[], target: EmaPytorchSnapshotTime): number[] {
  if (snapshots.length === 0) throw new RangeError('no snapshots to synthesize from');
  const last = Math.max(...snapshots.map((s) => s.step));
  if (target.step > last) {
    throw new RangeError(`ema-pytorch synthesizes only up to the largest step ${last}, got step ${target.step}`);
  }
  if (!(target.step > 0)) throw new RangeError(`target step must be positive, got ${target.step}`);
  const times = snapshots.map((s) => s.step);
  const gammas = snapshots.map((s) => Math.fround(s.gamma));
  const targetGamma = Math.fround(target.gamma);
  const a = new Matrix(times.length, times.length);
  const b = new Matrix(times.length, 1);
  for (let i = 0; i < times.length; i++) {
    for (let j = 0; j < times.length; j++) a.set(i, j, emaPytorchInnerProduct(times[i], gammas[i], times[j], gammas[j]));
    b.set(i, 0, emaPytorchInnerProduct(times[i], gammas[i], target.step, targetGamma));
  }
  return solve(a, b).getColumn(0);
}
