/**
 * Finds the first NaN or +-Inf among `count` values, or -1. The fast path multiplies by zero:
 * finite * 0 = 0, but Inf * 0 and NaN * 0 are NaN, so one pass with no branches answers "any?".
 */
export function firstNonFinite(values: Float64Array, count: number): number {
  let probe = 0;
  for (let i = 0; i < count; i++) probe += values[i] * 0;
  if (probe === 0) return -1;
  for (let i = 0; i < count; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}
