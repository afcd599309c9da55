import { test } from 'node:test';
import assert from 'node:assert/strict';
import { choleskyFactor, choleskySolveInPlace } from '../src/phema/cholesky.js';
import { seededRandom } from './helpers/seeded-random.js';

/** A random symmetric positive definite matrix: B B^T + n I. */
function spd(n: number, seed: number): Float64Array {
  const next = seededRandom(seed);
  const b = Float64Array.from({ length: n * n }, () => next() - 0.5);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = i === j ? n : 0;
      for (let k = 0; k < n; k++) sum += b[i * n + k] * b[j * n + k];
      a[i * n + j] = sum;
    }
  }
  return a;
}

// Independent check: L L^T multiplied out in plain JavaScript must give back A (rounding of a
// backward-stable factorisation: a few ulps of the largest entry), for sizes around the kernels'
// 2-lane, 4-row and 32-row blockings.
for (const n of [1, 2, 3, 5, 31, 33, 70]) {
  test(`the factor of a ${n} x ${n} positive definite matrix multiplies back to it, and solves`, () => {
    const a = spd(n, n);
    const l = choleskyFactor(a, n);
    assert.ok(l !== undefined);
    let largest = 0;
    for (const x of a) largest = Math.max(largest, Math.abs(x));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (j > i) assert.equal(l[i * n + j], 0, `upper entry (${i}, ${j})`);
        let sum = 0;
        for (let k = 0; k < n; k++) sum += l[i * n + k] * l[j * n + k];
        assert.ok(Math.abs(sum - a[i * n + j]) <= 1e-14 * n * largest, `(${i}, ${j}): ${sum} vs ${a[i * n + j]}`);
      }
    }
    const x = Float64Array.from({ length: n }, (_, i) => i - n / 3);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) b[i] += a[i * n + k] * x[k];
    choleskySolveInPlace(l, n, b);
    b.forEach((v, i) => assert.ok(Math.abs(v - x[i]) <= 1e-10 * n, `x[${i}] = ${v}, expected ${x[i]}`));
  });
}

test('a matrix that is not positive definite has no factor', () => {
  const a = spd(6, 1);
  a[3 * 6 + 3] = -1;
  assert.equal(choleskyFactor(a, 6), undefined);
});
