import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATCH, BLOCK, BLOCK_BYTES, createBlendMemory, instantiateKernels } from '../src/blend/blend-kernels.js';
import { decodeFloats, encodeFloats } from '../src/safetensors/dtype-convert.js';
import { seededRandom } from './helpers/seeded-random.js';

// Second method throughout: plain JavaScript (decodeFloats' tables, Math.fround, a scalar loop),
// compared bit for bit (NaN compared as NaN: its payload is not preserved by either side).
const memory = createBlendMemory(4 << 20);
const kernels = instantiateKernels(memory);
const bytes = new Uint8Array(memory.buffer);
const view = new DataView(memory.buffer);

function sameFloat(actual: number, expected: number, what: string): void {
  if (Number.isNaN(expected)) assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
  else assert.ok(Object.is(actual, expected), `${what}: expected ${expected}, got ${actual}`);
}

for (const dtype of ['F16', 'BF16'] as const) {
  test(`${dtype} decoding is exact for all 65,536 bit patterns, from an odd address`, () => {
    const src = 1; // unaligned on purpose
    const dst = 1 << 20;
    for (let h = 0; h < 65536; h++) view.setUint16(src + 2 * h, h, true);
    (dtype === 'F16' ? kernels.decodeF16 : kernels.decodeBF16)(src, dst, 65536);
    const expected = new Float64Array(65536);
    decodeFloats(dtype, bytes.slice(src, src + 2 * 65536), expected);
    for (let h = 0; h < 65536; h++) sameFloat(view.getFloat64(dst + 8 * h, true), expected[h], `0x${h.toString(16)}`);
  });
}

test('F32 and F64 decoding widen exactly, including subnormals, infinities and the tail of odd counts', () => {
  const next = seededRandom(7);
  const specials = [0, -0, 1.4e-45, -1.1754942e-38, 3.4028235e38, Infinity, -Infinity, NaN];
  for (const n of [0, 1, 3, 4, 5, 1023]) {
    const src = 3;
    const dst = 2 << 20;
    const values = Array.from({ length: n }, (_, i) => Math.fround(i < specials.length ? specials[i] : (next() - 0.5) * 1e6));
    values.forEach((v, i) => view.setFloat32(src + 4 * i, v, true));
    kernels.decodeF32(src, dst, n);
    values.forEach((v, i) => sameFloat(view.getFloat64(dst + 8 * i, true), v, `F32 n=${n} #${i}`));
    values.forEach((v, i) => view.setFloat64(src + 8 * i, v * Math.PI, true));
    kernels.decodeF64(src, dst, n);
    values.forEach((v, i) => sameFloat(view.getFloat64(dst + 8 * i, true), v * Math.PI, `F64 n=${n} #${i}`));
  }
});

test('every accumulate kernel (1 or 2 targets, 1 to 8 snapshots) rounds exactly like acc += w * v in snapshot order', () => {
  const next = seededRandom(11);
  const values = 8; // decoded blocks at an unaligned address
  const weights = (1 << 20) + 4;
  const accA = (2 << 20) + 8;
  const accB = (3 << 20) + 24;
  for (let j = 0; j < BATCH; j++) for (let e = 0; e < BLOCK; e++) view.setFloat64(values + j * BLOCK_BYTES + 8 * e, (next() - 0.5) * 10 ** Math.floor(next() * 8), true);
  for (const targets of [1, 2] as const) {
    for (let s = 1; s <= BATCH; s++) {
      for (const n of [1, 2, 3, 5, 7, BLOCK]) {
        const w = Array.from({ length: 2 * BATCH }, () => next() * 2 - 0.6);
        w.forEach((x, i) => view.setFloat64(weights + 8 * i, x, true));
        const start = Array.from({ length: 2 * n }, () => next() - 0.5);
        for (let e = 0; e < n; e++) {
          view.setFloat64(accA + 8 * e, start[e], true);
          view.setFloat64(accB + 8 * e, start[n + e], true);
        }
        kernels.accumulate[targets - 1][s - 1](accA, accB, n, values, weights, weights + 8 * BATCH);
        for (let t = 0; t < targets; t++) {
          for (let e = 0; e < n; e++) {
            let x = start[t * n + e];
            for (let j = 0; j < s; j++) x += w[t * BATCH + j] * view.getFloat64(values + j * BLOCK_BYTES + 8 * e, true);
            sameFloat(view.getFloat64((t === 0 ? accA : accB) + 8 * e, true), x, `T=${targets} S=${s} n=${n} target ${t} element ${e}`);
          }
        }
      }
    }
  }
});

test('accumulate kernels write nothing beyond the count', () => {
  const acc = 3 << 20;
  for (let e = 0; e < 16; e++) view.setFloat64(acc + 8 * e, 100 + e, true);
  view.setFloat64(1 << 20, 1, true);
  for (let n = 0; n < 9; n++) {
    kernels.accumulate[0][0](acc, 0, n, 0, 1 << 20, 0);
    for (let e = n; e < 16; e++) assert.equal(view.getFloat64(acc + 8 * e, true), 100 + e, `n=${n} touched element ${e}`);
    for (let e = 0; e < 16; e++) view.setFloat64(acc + 8 * e, 100 + e, true);
  }
});

test('the non-finite check finds a NaN or an infinity at any position and ignores -0 and huge finite values', () => {
  const at = (1 << 20) + 8;
  for (const n of [1, 2, 3, 4, 5, 9, 1024]) {
    for (let e = 0; e < n; e++) view.setFloat64(at + 8 * e, e % 2 ? -0 : 1.7e308, true);
    assert.equal(kernels.anyNonFinite(at, n), 0, `finite n=${n}`);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const position of [0, n - 1, n >> 1]) {
        view.setFloat64(at + 8 * position, bad, true);
        assert.equal(kernels.anyNonFinite(at, n), 1, `${bad} at ${position} of ${n}`);
        view.setFloat64(at + 8 * position, 0, true);
      }
    }
  }
});

test('F32 encoding rounds to nearest, ties to even, as Math.fround does', () => {
  const next = seededRandom(5);
  const src = 8;
  const dst = (1 << 20) + 2;
  const specials = [1 + 2 ** -24, 1 + 3 * 2 ** -24, 3.4028235677973366e38, 3.5e38, 1e-46, 7e-46, -0, NaN, -Infinity];
  for (const n of [1, 3, 4, 6, 1000]) {
    const values = Array.from({ length: n }, (_, i) => (i < specials.length ? specials[i] : (next() - 0.5) * 10 ** (next() * 80 - 40)));
    values.forEach((v, i) => view.setFloat64(src + 8 * i, v, true));
    kernels.encodeF32(src, dst, n);
    values.forEach((v, i) => sameFloat(view.getFloat32(dst + 4 * i, true), Math.fround(v), `n=${n} #${i} (${v})`));
  }
});

for (const dtype of ['F16', 'BF16'] as const) {
  test(`${dtype} encoding from float64 gives the bytes of the scalar encoder: every half, the ties between neighbours and their double-ulp neighbours`, () => {
    // Candidates: each finite half's value, the midpoint to the next one (a tie), and the doubles
    // just either side of value and midpoint; plus zeros, infinities, NaN and far out-of-range values.
    const all = new Float64Array(65536);
    const patterns = new Uint8Array(2 * 65536);
    for (let h = 0; h < 65536; h++) { patterns[2 * h] = h & 0xff; patterns[2 * h + 1] = h >> 8; }
    decodeFloats(dtype, patterns, all);
    const candidates: number[] = [0, -0, Infinity, -Infinity, NaN, 1e300, -1e300, 1e-300, -5e-324];
    const nextUp = (x: number): number => { const b = new Float64Array([x]); const w = new BigInt64Array(b.buffer); w[0] += x >= 0 ? 1n : -1n; return b[0]; };
    const nextDown = (x: number): number => { const b = new Float64Array([x]); const w = new BigInt64Array(b.buffer); w[0] -= x > 0 ? 1n : x < 0 ? -1n : 0n; return b[0]; };
    for (let h = 0; h < 65536; h++) {
      const v = all[h];
      if (!Number.isFinite(v)) continue;
      const next = all[(h & 0x8000) | (((h & 0x7fff) + 1) & 0x7fff)];
      candidates.push(v, nextUp(v), nextDown(v));
      if (Number.isFinite(next)) {
        const mid = (v + next) / 2;
        candidates.push(mid, nextUp(mid), nextDown(mid));
      }
    }
    const src = 8;
    const n = candidates.length;
    const dst = src + 8 * n + 2; // unaligned output
    candidates.forEach((v, i) => view.setFloat64(src + 8 * i, v, true));
    (dtype === 'F16' ? kernels.encodeF16 : kernels.encodeBF16)(src, dst, n);
    const expected = new Uint8Array(2 * n);
    encodeFloats(dtype, Float64Array.from(candidates), expected);
    for (let i = 0; i < n; i++) {
      const got = view.getUint16(dst + 2 * i, true);
      const want = expected[2 * i] | (expected[2 * i + 1] << 8);
      assert.equal(got, want, `${candidates[i]}: got 0x${got.toString(16)}, expected 0x${want.toString(16)}`);
    }
  });
}

for (const dtype of ['F16', 'BF16'] as const) {
  test(`${dtype} encoding handles one out-of-range value among three normal ones (the kernel's fast path skips the rare ranges per four values)`, () => {
    // 65520 is the F16 tie that rounds up to infinity; 3e-5 and 1e-40 are subnormal in F16 and BF16.
    const rare = [0, -0, 3e-5, -1e-40, 65520, -65536, 1e39, Infinity, -Infinity, NaN, 1e300, 5e-324];
    const values: number[] = [];
    for (const special of rare) for (let lane = 0; lane < 4; lane++) values.push(...[1.5, -2.25, 3.125, 0.75].map((v, i) => (i === lane ? special : v)));
    const src = 16;
    const dst = src + 8 * values.length;
    values.forEach((v, i) => view.setFloat64(src + 8 * i, v, true));
    (dtype === 'F16' ? kernels.encodeF16 : kernels.encodeBF16)(src, dst, values.length);
    const expected = new Uint8Array(2 * values.length);
    encodeFloats(dtype, Float64Array.from(values), expected);
    for (let i = 0; i < values.length; i++) {
      assert.equal(view.getUint16(dst + 2 * i, true), expected[2 * i] | (expected[2 * i + 1] << 8), `${values[i]} in lane ${i % 4}`);
    }
  });
}
