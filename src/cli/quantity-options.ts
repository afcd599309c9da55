/**
 * Option values with units, for `plan` and `prune`: lengths and sizes with SI or binary suffixes
 * (`2Gi` images, `3.1GB`, `500GiB`), fractions (`1%` or `0.01`) and fit-error increases (`0.1pp`
 * absolute, `10%` relative). Errors name the flag and the value.
 */
import { UsageError } from '../errors.js';
import type { ErrorIncrease } from '../prune/prune-criterion.js';

const SUFFIXES: Readonly<Record<string, number>> = {
  '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40,
};
const NUMBER = '(\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?';

/** A positive count or size: `1000`, `8Mi`, `2G`; with `bytes`, a trailing B is allowed (`3.1GB`, `100GiB`). */
export function parseQuantity(flag: string, text: string, bytes = false): number {
  const match = new RegExp(`^\\s*(${NUMBER})\\s*(Ki|Mi|Gi|Ti|k|K|M|G|T)?${bytes ? 'B?' : ''}\\s*$`).exec(text);
  const value = match ? Number(match[1]) * SUFFIXES[match[3] ?? ''] : Number.NaN;
  if (!(value > 0) || !Number.isFinite(value)) {
    const example = bytes ? "e.g. 3.1GB, 500GiB or 123456789" : 'e.g. 2Gi, 500M or 100000';
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a positive number with an optional k/M/G/T or Ki/Mi/Gi/Ti suffix (${example})`);
  }
  return value;
}

/** A fraction in (0, 1]: `1%` or `0.01`. */
export function parseFraction(flag: string, text: string): number {
  const trimmed = text.trim();
  const percent = trimmed.endsWith('%');
  const value = Number(percent ? trimmed.slice(0, -1) : trimmed) / (percent ? 100 : 1);
  if (trimmed === '' || trimmed === '%' || !(value > 0 && value <= 1)) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected a fraction such as 1% or 0.01 (more than 0, at most 100%)`);
  }
  return value;
}

/** `0.1pp`: fit error may rise by 0.1 percentage points; `10%`: by 10% of its value. */
export function parseErrorIncrease(flag: string, text: string): ErrorIncrease {
  const match = /^\s*(\d+\.?\d*|\.\d+)\s*(pp|%)\s*$/.exec(text);
  if (!match) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected percentage points (0.1pp: fit error may rise from 0.40% to 0.50%) or a relative rise (10%: from 0.40% to 0.44%)`);
  }
  const value = Number(match[1]) / 100;
  return match[2] === 'pp' ? { kind: 'absolute', value } : { kind: 'relative', value };
}

/** Comma-separated items, each a percentage of `whole` (`25%`) or an absolute quantity (`8Mi`). */
export function parseTimesOfRun(flag: string, text: string, whole: number): Array<{ readonly label: string; readonly value: number }> {
  const items = text.split(',').map((item) => item.trim());
  if (items.some((item) => item === '')) throw new UsageError(`${flag} ${JSON.stringify(text)}: an item is empty`);
  return items.map((item) => ({ label: item, value: item.endsWith('%') ? parseFraction(flag, item) * whole : parseQuantity(flag, item) }));
}
