/**
 * Parses target lists such as `0.05,0.1` or `0.010,0.015,...,0.250` (MATH.md "Range lists").
 *
 * A `...` continues the arithmetic progression set by the two values before it up to the value
 * after it. Each value is computed as first + k * step and rounded to the decimals the user wrote,
 * so 0.02 stays 0.02 rather than 0.019999999999999997 from repeated addition. The result is sorted
 * and deduplicated. Errors are RangeErrors that the caller words with the flag's name.
 */
const ELLIPSIS = '...';
const MAX_RANGE_VALUES = 10_000;

export function parseValueList(text: string): number[] {
  const items = text.split(',').map((item) => item.trim());
  const values: number[] = [];
  for (let index = 0; index < items.length; index++) {
    if (items[index] !== ELLIPSIS) {
      values.push(parseNumber(items[index]));
      continue;
    }
    if (index < 2 || items[index - 1] === ELLIPSIS || items[index - 2] === ELLIPSIS) {
      throw new RangeError(`'...' must be preceded by at least two numbers`);
    }
    if (index + 1 >= items.length || items[index + 1] === ELLIPSIS) {
      throw new RangeError(`'...' must be followed by a number`);
    }
    values.push(...expandRange(items[index - 2], items[index - 1], items[index + 1]));
    index++; // the end value was consumed by the range
  }
  return [...new Set(values)].sort((a, b) => a - b);
}

function parseNumber(item: string): number {
  // Number('') is 0 and Number(' 1') is 1: insist on a plain decimal literal.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(item)) {
    throw new RangeError(`'${item}' is not a number`);
  }
  return Number(item);
}

/** Values strictly after `second`, up to and including `last`. */
function expandRange(firstText: string, secondText: string, lastText: string): number[] {
  const first = parseNumber(firstText);
  const second = parseNumber(secondText);
  const last = parseNumber(lastText);
  const step = second - first;
  if (step === 0) throw new RangeError(`the two numbers before '...' must differ (${firstText}, ${secondText})`);
  const steps = (last - first) / step;
  const count = Math.round(steps);
  // The official parser demands at least one value strictly between the second and the last.
  if (count <= 2) {
    throw new RangeError(`'${firstText},${secondText},...,${lastText}' leaves nothing for '...' to fill`);
  }
  if (count > MAX_RANGE_VALUES) {
    throw new RangeError(`'${firstText},${secondText},...,${lastText}' would expand to ${count} values (at most ${MAX_RANGE_VALUES})`);
  }
  const decimals = Math.max(decimalPlaces(firstText), decimalPlaces(secondText), decimalPlaces(lastText));
  if (Math.abs(steps - count) > 1e-9 * Math.max(1, Math.abs(steps))) {
    throw new RangeError(`'${firstText},${secondText},...,${lastText}' is not evenly spaced: ${lastText} is not reached in steps of ${round(step, decimals)}`);
  }
  const expanded: number[] = [];
  for (let k = 2; k <= count; k++) expanded.push(round(first + k * step, decimals));
  return expanded;
}

function decimalPlaces(text: string): number {
  const match = /\.(\d*)/.exec(text.replace(/[eE].*$/, ''));
  const exponent = /[eE]([+-]?\d+)$/.exec(text);
  return Math.max(0, (match ? match[1].length : 0) - (exponent ? Number(exponent[1]) : 0));
}

function round(value: number, decimals: number): number {
  return Number(value.toFixed(Math.min(decimals, 100)));
}
