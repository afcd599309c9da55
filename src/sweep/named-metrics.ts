/**
 * `--metric NAME`: evaluation commands that print several metrics (`fid=2.31 is: 9.8`) name each
 * one; the sweep ranks by the one asked for. A named metric is a name (letters, digits, `_ - . /`,
 * starting with a letter) followed by `=` or `:` and a number, e.g. `fid50k_full=2.31`, `FID: 2.31`,
 * `"fid": 2.31` (JSON). Names compare case-insensitively; when a name is printed several times the
 * last value counts (a progress log ends with the final figure).
 */

// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;
const NAMED =
  /(?<![\w.\-/])([A-Za-z][\w.\-/]*)["']?\s*[=:]\s*([-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|nan|inf(?:inity)?))(?![\w]|[.:]\d)/gi;

/** Every named number printed, by lower-cased name, last value winning (non-finite ones as NaN). */
export function namedMetrics(stdout: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const match of stdout.replace(ANSI_ESCAPE, '').matchAll(NAMED)) {
    const value = Number(match[2]);
    found.set(match[1].toLowerCase(), Number.isFinite(value) ? value : NaN);
  }
  return found;
}

/** The finite named metrics as a plain object for sweep.jsonl; undefined when none. */
export function metricsRecord(found: ReadonlyMap<string, number>): Record<string, number> | undefined {
  const finite = [...found].filter(([, v]) => Number.isFinite(v));
  return finite.length === 0 ? undefined : Object.fromEntries(finite);
}
