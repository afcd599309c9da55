/**
 * How reports print sigma_rel and fit errors, the same in every human-readable output
 * (reconstruct, inspect, sweep tables, charts and figures). JSON keeps plain numbers: fit errors
 * there stay fractions.
 */
/** A sigma_rel in its shortest form, to 6 significant digits: 0.11000000000000001 -> 0.11. */
export function formatSigma(value: number): string {
  return Number(value.toPrecision(6)).toString();
}

/**
 * A column of sigma_rel values with the grid's decimals (as many as the most precise grid value
 * needs), so that 0.1 prints as 0.10 beside 0.05. Values off the grid (refinement steps) keep the
 * digits they need beyond that, so they never print as a grid value they are not.
 */
export function formatSigmaColumn(values: readonly number[], grid: readonly number[] = values): string[] {
  const decimalsOf = (v: number): number => formatSigma(v).split('.')[1]?.length ?? 0;
  const decimals = Math.max(0, ...grid.map(decimalsOf));
  return values.map((v) => v.toFixed(Math.max(decimals, decimalsOf(v))));
}

/** A fit error (a fraction) in percent with three decimals: 0.10090 -> "10.090%". */
export function formatFitPercent(fraction: number): string {
  return `${(fraction * 100).toFixed(3)}%`;
}

