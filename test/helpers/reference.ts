/** Loads test/reference/phema-reference.json (numbers from the paper's official code, float64; see its README). */
import { readFileSync } from 'node:fs';

export const REFERENCE_DIR = new URL('../reference/', import.meta.url);

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const reference: any = JSON.parse(readFileSync(new URL('phema-reference.json', REFERENCE_DIR), 'utf8'));

/** Largest |a_i - b_i| / scale over two equal-length arrays. */
export function maxRelativeDifference(actual: readonly number[], expected: readonly number[], scale = 1): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  actual.forEach((value, i) => {
    worst = Math.max(worst, Math.abs(value - expected[i]) / scale);
  });
  return worst;
}
