/**
 * Fit error of a blend (MATH.md "Diagnostics"): the relative L2 distance between the blended profile
 * sum_i x_i p_i and the target r, from err^2 = (x^T A x - 2 x^T b + c) / c, c = <r, r>.
 *
 * `gram` is row-major n x n. The three terms nearly cancel for good fits, so rounding can leave a tiny negative err^2; it is
 * clamped to 0 (the true value is below the rounding level, about 1e-8 relative).
 */
export function fitError(gram: Float64Array, x: readonly number[], b: readonly number[], c: number): number {
  const n = x.length;
  let quadratic = 0;
  let linear = 0;
  for (let i = 0; i < n; i++) {
    let row = 0;
    const offset = i * n;
    for (let j = 0; j < n; j++) row += gram[offset + j] * x[j];
    quadratic += x[i] * row;
    linear += x[i] * b[i];
  }
  const squared = (quadratic - 2 * linear + c) / c;
  return Math.sqrt(Math.max(squared, 0));
}
