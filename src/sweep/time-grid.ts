/**
 * `--time LIST`: the training times a sweep reconstructs at. Values in the snapshots' time unit
 * (`4096,8192`), percentages of the run (`25%,50%,...,100%`, of the last snapshot's time), or `all`
 * (every snapshot time). Parsing is pure and separate from resolving against a snapshot folder, so
 * the command can reject a malformed list before any file is read.
 */
import { UsageError } from '../errors.js';
import { parseValueList } from '../phema/value-list.js';

export type TimeSpec =
  | { readonly kind: 'latest' }
  | { readonly kind: 'values'; readonly values: readonly number[] }
  | { readonly kind: 'percent'; readonly percents: readonly number[] }
  | { readonly kind: 'all' };

export function parseTimeSpec(text: string | undefined): TimeSpec {
  if (text === undefined) return { kind: 'latest' };
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === 'all') return { kind: 'all' };
  const items = trimmed.split(',').map((item) => item.trim());
  const percent = items.filter((item) => item.endsWith('%')).length;
  if (percent > 0 && percent < items.filter((item) => item !== '...').length) {
    throw new UsageError(`--time ${JSON.stringify(text)} mixes percentages and times`, 'write every value as a percentage (25%,50%,...,100%) or none');
  }
  let values: number[];
  try {
    values = parseValueList(items.map((item) => item.replace(/%$/, '')).join(','));
  } catch (error) {
    throw new UsageError(`--time ${JSON.stringify(text)}: ${(error as Error).message}`,
      "give times in the snapshots' unit (4096,8192), percentages of the run (25%,50%,...,100%), or 'all'");
  }
  if (percent > 0) {
    const bad = values.find((p) => !(p > 0 && p <= 100));
    if (bad !== undefined) throw new UsageError(`--time ${bad}% must lie in (0%, 100%]`);
    return { kind: 'percent', percents: values };
  }
  const bad = values.find((v) => !(v > 0));
  if (bad !== undefined) throw new UsageError(`--time ${bad} must be a positive number (in the snapshots' time unit)`);
  return { kind: 'values', values };
}

/**
 * The times to sweep, ascending: the latest snapshot time by default. A percentage is rounded to 12
 * significant digits so `12.5%` of 65 is 8.125, not 8.125000000000002. Times outside the snapshots'
 * range are left in: the plan names them in its own error.
 */
export function resolveTimes(spec: TimeSpec, snapshotTimes: readonly number[]): number[] {
  const last = snapshotTimes[snapshotTimes.length - 1];
  const clean = (x: number): number => Number(x.toPrecision(12));
  switch (spec.kind) {
    case 'latest': return [last];
    case 'values': return [...spec.values];
    case 'all': return [...new Set(snapshotTimes)].sort((a, b) => a - b);
    case 'percent': return [...new Set(spec.percents.map((p) => clean((p / 100) * last)))].sort((a, b) => a - b);
  }
}

/** The single time of a one-time spec (for commands that take only one), else undefined. */
export function isSingleTime(spec: TimeSpec): boolean {
  return spec.kind === 'latest' || (spec.kind !== 'all' && (spec.kind === 'values' ? spec.values.length : spec.percents.length) === 1);
}
