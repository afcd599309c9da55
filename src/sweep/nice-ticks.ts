/**
 * Axis ticks at "nice" numbers (1, 2, 2.5 or 5 times a power of ten) covering [min, max], as a
 * person would label an axis by hand. Shared by the terminal chart.
 */
export function niceTicks(min: number, max: number, target = 5): number[] {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, target - 1);
  const power = 10 ** Math.floor(Math.log10(raw));
  // The nice step whose tick count comes closest to the target (ties: the larger step).
  const count = (s: number): number => Math.floor(max / s + 1e-9) - Math.ceil(min / s - 1e-9) + 1;
  const step = [10, 5, 2.5, 2, 1]
    .map((m) => m * power)
    .reduce((best, s) => (Math.abs(count(s) - target) < Math.abs(count(best) - target) ? s : best));
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    // Round away binary noise (0.15000000000000002) by the step's own decimal places.
    const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
    ticks.push(Number((k * step).toFixed(Math.min(20, decimals))));
  }
  return ticks;
}

/** A tick label: short, without float noise, exponent form for very large or small magnitudes. */
export function formatTick(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e5 || magnitude < 1e-3) return Number(value.toPrecision(2)).toExponential().replace('e+', 'e');
  return String(Number(value.toPrecision(4)));
}
