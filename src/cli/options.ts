/** Parsing of option values shared by several commands; errors name the flag. */
import { UsageError } from '../errors.js';

export function parseTimeOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--time ${JSON.stringify(text)} must be a positive number (in the snapshots' time unit)`);
  }
  return value;
}

export function parsePositiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value <= 0) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} must be a positive whole number`);
  }
  return value;
}
