/**
 * F(gamma, a) = integral_0^1 u^gamma exp(-a (1 - u)) du = M(1, gamma + 2, -a) / (gamma + 1) (MATH.md
 * "Other target profiles"), the part of the power-against-exponential inner product with no
 * elementary form.
 *
 * Kummer's transformation turns the alternating series of M(1, b, -a) into one with positive terms:
 * F = sum_n exp(-a) a^n / n! / (gamma + 1 + n), the mean of 1 / (gamma + 1 + N) for N ~ Poisson(a).
 * The Poisson weights are built outward from their mode (weight 1 there) and both sums divided by
 * the weights' own sum, which is exactly 1 in the limit: no exp(-a), no factorials, no overflow, and
 * only about 2 x 9 sqrt(a) terms matter (the rest are below 1e-18 of the sum). Every term is positive,
 * so the result is accurate to a few ulps for any gamma > -1 and a >= 0.
 */

/** Terms smaller than this fraction of the running weight sum end a direction of the walk. */
const NEGLIGIBLE = 1e-18;

export function kummerIntegral(gamma: number, a: number): number {
  if (!(gamma > -1) || !(a >= 0) || !Number.isFinite(a)) throw new RangeError(`kummerIntegral needs gamma > -1 and finite a >= 0, got gamma ${gamma}, a ${a}`);
  const mode = Math.floor(a);
  let weights = 1;
  let sum = 1 / (gamma + 1 + mode);
  let w = 1;
  for (let n = mode + 1; ; n++) {
    w *= a / n;
    weights += w;
    sum += w / (gamma + 1 + n);
    if (w < NEGLIGIBLE * weights) break;
  }
  w = 1;
  for (let n = mode; n > 0; n--) {
    // weight of n - 1 from that of n; its term is 1 / (gamma + 1 + (n - 1))
    w *= n / a;
    weights += w;
    sum += w / (gamma + n);
    if (w < NEGLIGIBLE * weights) break;
  }
  return sum / weights;
}
