import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseValueList } from '../src/phema/value-list.js';
import { reference } from './helpers/reference.js';

// Source of truth: parse_std_list of the official code (reference file), except that we compute
// range values as first + k*step rounded to the input's decimals (MATH.md), so they are clean.

test('expands lists and ranges like the official parser, with clean decimals', () => {
  for (const c of reference.parsing.parse_std_list_ok) {
    const values = parseValueList(c.input);
    assert.equal(values.length, c.output.length, c.input);
    values.forEach((v: number, i: number) => assert.ok(Math.abs(v - c.output[i]) <= 1e-12, `${c.input}[${i}]`));
  }
  assert.deepEqual(parseValueList('0.010,0.015,...,0.030'), [0.01, 0.015, 0.02, 0.025, 0.03]);
  assert.deepEqual(parseValueList('0.05,0.1,...,0.25'), [0.05, 0.1, 0.15, 0.2, 0.25]);
});

test('rejects malformed lists that the official parser rejects, each with its own message', () => {
  const expected: Record<string, RegExp> = {
    '...,0.1': /preceded by at least two/,
    '0.01,...,0.05': /preceded by at least two/,
    '0.01,0.02,...': /followed by a number/,
    '0.01,0.02,...,...': /followed by a number/,
    '0.01,0.01,...,0.05': /must differ/,
    '0.05,0.04,...,0.06': /nothing for '...' to fill/,
    '0.01,0.02,...,0.03': /nothing for '...' to fill/,
    '0.01,0.02,...,0.055': /not evenly spaced/,
    abc: /'abc' is not a number/,
    '': /'' is not a number/,
    '0.1,,0.2': /'' is not a number/,
    '0,1e-9,...,1': /would expand to/,
  };
  for (const [input, message] of Object.entries(expected)) {
    assert.throws(() => parseValueList(input), message, input);
  }
});
