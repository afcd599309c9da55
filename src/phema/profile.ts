/**
 * Power-function EMA profiles (docs/MATH.md): p_{t,gamma}(tau) = (gamma+1) tau^gamma / t^(gamma+1).
 * Pure float64 math; errors are thrown as plain RangeErrors for the caller to put in context.
 */

/** sigma_rel of gamma = 0, the widest valid profile: sqrt(1/12). Valid targets are strictly below. */
export const MAX_SIGMA_REL = Math.sqrt(1 / 12);

/** Relative standard deviation of the profile with exponent gamma (> 0). */
export function gammaToSigmaRel(gamma: number): number {
  if (!(gamma > 0) || !Number.isFinite(gamma)) {
    throw new RangeError(`gamma must be a positive finite number, got ${gamma}`);
  }
  return Math.sqrt((gamma + 1) / ((gamma + 2) ** 2 * (gamma + 3)));
}

/**
 * Exponent of the profile with relative width sigmaRel: the largest real root of
 * gamma^3 + 7 gamma^2 + (16 - s) gamma + (12 - s) = 0 with s = sigmaRel^-2.
 *
 * Newton's method started right of the largest root converges monotonically there (the cubic is
 * convex right of its inflection point -7/3), so no complex arithmetic is needed.
 * Start at sqrt(s) + 7: there gamma^2 (gamma + 7) >= s (gamma + 7) > s (gamma + 1), so f > 0.
 */
export function sigmaRelToGamma(sigmaRel: number): number {
  if (!(sigmaRel > 0 && sigmaRel < MAX_SIGMA_REL)) {
    throw new RangeError(
      `sigma_rel must be in (0, ${MAX_SIGMA_REL.toFixed(6)}), got ${sigmaRel}`,
    );
  }
  const s = 1 / (sigmaRel * sigmaRel);
  const f = (g: number): number => ((g + 7) * g + (16 - s)) * g + (12 - s);
  const df = (g: number): number => (3 * g + 14) * g + (16 - s);
  let gamma = Math.sqrt(s) + 7;
  for (let iteration = 0; iteration < 200; iteration++) {
    const next = gamma - f(gamma) / df(gamma);
    if (!(next < gamma)) break; // monotone from the right: stop once rounding stalls it
    gamma = next;
  }
  return gamma;
}

/**
 * EMA decay for an update that advances time from t - dt to t (MATH.md "Tracking during training"):
 * beta = (1 - dt/t)^(gamma + 1). The first update (t = dt) gives 0: the EMA starts as a copy.
 */
export function trackingBeta(gamma: number, time: number, dt: number): number {
  if (!(time > 0) || !(dt > 0) || dt > time) {
    throw new RangeError(`tracking needs 0 < dt <= t, got dt=${dt}, t=${time}`);
  }
  return (1 - dt / time) ** (gamma + 1);
}
