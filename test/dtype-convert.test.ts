import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeFloats, encodeFloats } from '../src/safetensors/dtype-convert.js';
import type { DType } from '../src/tensors/tensor-source.js';

// Independent truths: BF16 is the top half of a float32 (so a Float32Array view decodes it);
// F16 decodes through float32 bit assembly; encoding is checked against exact integer
// arithmetic on the float64's significand (BigInt), and F32 against Math.fround.

interface Format { readonly mantissaBits: number; readonly minExponent: number; readonly bias: number; readonly infBits: number }
const F16: Format = { mantissaBits: 10, minExponent: -14, bias: 15, infBits: 0x7c00 };
const BF16: Format = { mantissaBits: 7, minExponent: -126, bias: 127, infBits: 0x7f80 };

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** Round-to-nearest-even by exact rational arithmetic on x = significand * 2^exponent. */
function referenceBits(x: number, format: Format): number {
  if (Number.isNaN(x)) return -1;
  f64[0] = x;
  const raw = u64[0];
  const sign = raw >> 63n ? 0x8000 : 0;
  const biased = Number((raw >> 52n) & 0x7ffn);
  const fraction = raw & ((1n << 52n) - 1n);
  if (biased === 0x7ff) return sign | format.infBits;
  const significand = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075; // x = significand * 2^exponent
  const magnitude = biased === 0 ? -1075 : biased - 1023; // floor(log2 |x|) for normal doubles
  const k = Math.max(magnitude, format.minExponent);
  const shift = exponent - k + format.mantissaBits; // q = |x| / 2^(k - mantissaBits)
  let q: bigint;
  if (shift >= 0) q = significand << BigInt(shift);
  else {
    const s = BigInt(-shift);
    q = significand >> s;
    const remainder = significand & ((1n << s) - 1n);
    const half = 1n << (s - 1n);
    if (remainder > half || (remainder === half && (q & 1n) === 1n)) q += 1n;
  }
  const exponentField = magnitude >= format.minExponent ? k + format.bias - 1 : 0;
  const bits = exponentField * 2 ** format.mantissaBits + Number(q);
  return sign | Math.min(bits, format.infBits);
}

function encodeOne(dtype: DType, x: number): number {
  const out = new Uint8Array(2);
  encodeFloats(dtype, Float64Array.of(x), out);
  return out[0] | (out[1] << 8);
}

function decodeAll(dtype: DType): Float64Array {
  const bits = new Uint16Array(65536).map((_, i) => i);
  const out = new Float64Array(65536);
  decodeFloats(dtype, new Uint8Array(bits.buffer), out);
  return out;
}

function f16ByFloat32Bits(bits: number): number {
  const sign = bits & 0x8000;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const value = exponent === 0
    ? mantissa / 16777216
    : new Float32Array(new Uint32Array([((exponent === 31 ? 255 : exponent - 15 + 127) << 23) | (mantissa << 13)]).buffer)[0];
  return sign ? -value : value;
}

test('F16 decode matches float32 bit assembly on all 65,536 patterns', () => {
  const decoded = decodeAll('F16');
  for (let bits = 0; bits < 65536; bits++) assert.ok(Object.is(decoded[bits], f16ByFloat32Bits(bits)), `bits 0x${bits.toString(16)}`);
});

test('BF16 decode matches a float32 view of the top half on all 65,536 patterns', () => {
  const decoded = decodeAll('BF16');
  const asFloat32 = new Float32Array(new Uint32Array(65536).map((_, i) => i << 16).buffer);
  for (let bits = 0; bits < 65536; bits++) assert.ok(Object.is(decoded[bits], asFloat32[bits]), `bits 0x${bits.toString(16)}`);
});

for (const dtype of ['F16', 'BF16'] as const) {
  test(`${dtype} encode inverts decode on all non-NaN patterns and keeps NaN as NaN`, () => {
    const decoded = decodeAll(dtype);
    const out = new Uint8Array(65536 * 2);
    encodeFloats(dtype, decoded, out);
    const bits = new Uint16Array(out.buffer);
    const back = new Float64Array(65536);
    decodeFloats(dtype, out, back);
    for (let i = 0; i < 65536; i++) {
      if (Number.isNaN(decoded[i])) assert.ok(Number.isNaN(back[i]), `NaN pattern 0x${i.toString(16)} stays NaN`);
      else assert.equal(bits[i], i, `pattern 0x${i.toString(16)}`);
    }
  });

  test(`${dtype} encode rounds every midpoint between neighbours to the even one, and its double neighbours away`, () => {
    const format = dtype === 'F16' ? F16 : BF16;
    const decoded = decodeAll(dtype);
    for (const sign of [0, 0x8000]) {
      for (let bits = 0; bits < format.infBits; bits++) {
        const a = decoded[sign | bits];
        const b = decoded[sign | (bits + 1)];
        const mid = Number.isFinite(b) ? (a + b) / 2 : a + (a - decoded[sign | (bits - 1)]) / 2;
        const even = bits % 2 === 0 ? bits : bits + 1;
        assert.equal(encodeOne(dtype, mid), sign | even, `midpoint above 0x${(sign | bits).toString(16)}`);
        assert.equal(encodeOne(dtype, nextAway(mid, a)), sign | bits, `just below midpoint above 0x${bits.toString(16)}`);
        assert.equal(encodeOne(dtype, nextAway(mid, b === Infinity || b === -Infinity ? 2 * mid : b)), sign | (bits + 1));
        assert.equal(encodeOne(dtype, mid), referenceBits(mid, format));
      }
    }
  });

  test(`${dtype} encode agrees with exact BigInt rounding on random doubles of every magnitude`, () => {
    const format = dtype === 'F16' ? F16 : BF16;
    let seed = dtype === 'F16' ? 12345 : 54321;
    const random = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
    const values = new Float64Array(20000);
    for (let i = 0; i < values.length; i++) {
      const range = dtype === 'F16' ? 34 : 270;
      values[i] = (random() < 0.5 ? -1 : 1) * (1 + random()) * 2 ** (Math.floor(random() * range) - range / 2 - 8);
    }
    const out = new Uint8Array(values.length * 2);
    encodeFloats(dtype, values, out);
    const bits = new Uint16Array(out.buffer);
    for (let i = 0; i < values.length; i++) assert.equal(bits[i], referenceBits(values[i], format), `value ${values[i]}`);
  });
}

test('encoding from float64 does not double-round through float32', () => {
  // 1 + 2^-11 + 2^-30 is just above the F16 midpoint 1 + 2^-11; float32 would round it onto the
  // midpoint, which then ties to even (1.0). The correct F16 is 1 + 2^-10.
  assert.equal(encodeOne('F16', 1 + 2 ** -11 + 2 ** -30), 0x3c01);
  assert.equal(encodeOne('BF16', 1 + 2 ** -8 + 2 ** -30), 0x3f81);
});

test('F16 and BF16 overflow to infinity, underflow to signed zero and keep the sign of NaN inputs as NaN', () => {
  assert.equal(encodeOne('F16', 65519.99), 0x7bff);
  assert.equal(encodeOne('F16', 65520), 0x7c00);
  assert.equal(encodeOne('F16', -1e300), 0xfc00);
  assert.equal(encodeOne('F16', 2 ** -25), 0x0000);
  assert.equal(encodeOne('F16', 2 ** -25 * (1 + 2 ** -52)), 0x0001);
  assert.equal(encodeOne('F16', -5e-324), 0x8000);
  assert.equal(encodeOne('BF16', 3.4e38), 0x7f80);
  assert.equal(encodeOne('BF16', 2 ** -134), 0x0000);
  assert.equal(encodeOne('BF16', -(2 ** -133)), 0x8001);
  for (const dtype of ['F16', 'BF16'] as const) {
    const back = new Float64Array(1);
    const out = new Uint8Array(2);
    encodeFloats(dtype, Float64Array.of(NaN), out);
    decodeFloats(dtype, out, back);
    assert.ok(Number.isNaN(back[0]));
  }
});

test('F32 encode equals Math.fround (round to nearest even) and F32/F64 decode exactly', () => {
  let seed = 7;
  const random = (): number => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const values = Float64Array.from({ length: 10000 }, () => (random() - 0.5) * 2 ** (Math.floor(random() * 300) - 150));
  values.set([NaN, Infinity, -Infinity, -0, 3.4028235677973366e38, 1e-46], 0);
  for (const dtype of ['F32', 'F64'] as const) {
    const size = dtype === 'F32' ? 4 : 8;
    const out = new Uint8Array(values.length * size);
    encodeFloats(dtype, values, out);
    const back = new Float64Array(values.length);
    decodeFloats(dtype, out, back);
    for (let i = 0; i < values.length; i++) {
      const expected = dtype === 'F32' ? Math.fround(values[i]) : values[i];
      assert.ok(Object.is(back[i], expected) || (Number.isNaN(back[i]) && Number.isNaN(expected)), `${dtype} value ${values[i]}`);
    }
  }
});

test('unaligned byte views decode and encode like aligned ones', () => {
  const values = Float64Array.of(1.5, -2.25, 65504, 1e-7, 3.14159);
  for (const dtype of ['F64', 'F32', 'F16', 'BF16'] as const) {
    const size = { F64: 8, F32: 4, F16: 2, BF16: 2 }[dtype];
    const aligned = new Uint8Array(values.length * size);
    encodeFloats(dtype, values, aligned);
    const shifted = new Uint8Array(values.length * size + 1).subarray(1);
    encodeFloats(dtype, values, shifted);
    assert.deepEqual([...shifted], [...aligned], dtype);
    const a = new Float64Array(values.length);
    const b = new Float64Array(values.length);
    decodeFloats(dtype, aligned, a);
    decodeFloats(dtype, shifted, b);
    assert.deepEqual([...b], [...a], dtype);
  }
});

test('decodeFloats and encodeFloats refuse mismatched sizes and non-float dtypes', () => {
  assert.throws(() => decodeFloats('F32', new Uint8Array(6), new Float64Array(2)), /not a whole number of F32/);
  assert.throws(() => decodeFloats('F16', new Uint8Array(8), new Float64Array(3)), /4 values do not fit/);
  assert.throws(() => encodeFloats('BF16', new Float64Array(3), new Uint8Array(5)), /need 6 bytes/);
  assert.throws(() => decodeFloats('I32', new Uint8Array(4), new Float64Array(1)), /not a float dtype/);
});

function nextAway(from: number, toward: number): number {
  f64[0] = from;
  const up = toward > from === from > 0;
  u64[0] = from === 0 ? 1n : up ? u64[0] + 1n : u64[0] - 1n;
  return from === 0 ? (toward > 0 ? f64[0] : -f64[0]) : f64[0];
}
