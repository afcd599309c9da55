/**
 * IEEE binary16 (F16) and bfloat16 (BF16) to and from float64, one value at a time.
 *
 * Encoding rounds to nearest, ties to even, directly from the float64 bits. Going through
 * float32 first would round twice (a value just above a half-way point can become the half-way
 * point in float32 and then round to even the wrong way).
 */

/** 2^52: adding and subtracting it rounds a non-negative double below 2^51 to an integer, ties to even. */
const ROUND_TO_INTEGER = 4503599627370496;
const TWO_POW_24 = 2 ** 24; // F16's smallest subnormal is 2^-24
const TWO_POW_133 = 2 ** 133; // BF16's smallest subnormal is 2^-133

const scratch = new Float64Array(1);
const words = new Uint32Array(scratch.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = LITTLE_ENDIAN ? 0 : 1;

export function f16BitsFromNumber(value: number): number {
  scratch[0] = value;
  const hi = words[HI];
  const lo = words[LO];
  const sign = (hi >>> 16) & 0x8000;
  const exponent = (hi >>> 20) & 0x7ff;
  if (exponent === 0x7ff) return sign | ((hi & 0xfffff) !== 0 || lo !== 0 ? 0x7e00 : 0x7c00);
  const e = exponent - 1023;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    // 10 mantissa bits kept; bit 9 of `hi` is the rounding bit, everything below it is sticky.
    let bits = ((e + 15) << 10) | ((hi >>> 10) & 0x3ff);
    if ((hi & 0x200) !== 0 && ((hi & 0x1ff) !== 0 || lo !== 0 || (bits & 1) !== 0)) bits++; // may carry into Inf: correct
    return sign | bits;
  }
  // Subnormal (or zero): count units of 2^-24; scaling by a power of two is exact.
  const units = Math.abs(value) * TWO_POW_24;
  return sign | (units + ROUND_TO_INTEGER - ROUND_TO_INTEGER);
}

export function bf16BitsFromNumber(value: number): number {
  scratch[0] = value;
  const hi = words[HI];
  const lo = words[LO];
  const sign = (hi >>> 16) & 0x8000;
  const exponent = (hi >>> 20) & 0x7ff;
  if (exponent === 0x7ff) return sign | ((hi & 0xfffff) !== 0 || lo !== 0 ? 0x7fc0 : 0x7f80);
  const e = exponent - 1023;
  if (e > 127) return sign | 0x7f80;
  if (e >= -126) {
    let bits = ((e + 127) << 7) | ((hi >>> 13) & 0x7f);
    if ((hi & 0x1000) !== 0 && ((hi & 0xfff) !== 0 || lo !== 0 || (bits & 1) !== 0)) bits++;
    return sign | bits;
  }
  const units = Math.abs(value) * TWO_POW_133;
  return sign | (units + ROUND_TO_INTEGER - ROUND_TO_INTEGER);
}

/**
 * Bulk versions of the two encoders above (same arithmetic), reading the float64 words through one
 * Uint32Array view of the whole input instead of a scratch store per element.
 */
export function encodeF16Bulk(values: Float64Array, out: Uint16Array): void {
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < values.length; i++) out[i] = f16BitsFromNumber(values[i]);
    return;
  }
  const w = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  for (let i = 0, n = values.length; i < n; i++) {
    const hi = w[2 * i + 1];
    const e = ((hi >>> 20) & 0x7ff) - 1023;
    const sign = (hi >>> 16) & 0x8000;
    let bits: number;
    if (e >= -14 && e <= 15) {
      bits = ((e + 15) << 10) | ((hi >>> 10) & 0x3ff);
      // Branch-free round half to even: add the rounding bit when anything below it, or the last kept bit, is set.
      bits += (hi >>> 9) & (((hi & 0x1ff) | w[2 * i] | (bits & 1)) !== 0 ? 1 : 0);
    } else if (e < -14) {
      bits = (Math.abs(values[i]) * TWO_POW_24 + ROUND_TO_INTEGER - ROUND_TO_INTEGER) | 0;
    } else {
      bits = e === 1024 && ((hi & 0xfffff) !== 0 || w[2 * i] !== 0) ? 0x7e00 : 0x7c00;
    }
    out[i] = sign | bits;
  }
}

export function encodeBf16Bulk(values: Float64Array, out: Uint16Array): void {
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < values.length; i++) out[i] = bf16BitsFromNumber(values[i]);
    return;
  }
  const w = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  for (let i = 0, n = values.length; i < n; i++) {
    const hi = w[2 * i + 1];
    const e = ((hi >>> 20) & 0x7ff) - 1023;
    const sign = (hi >>> 16) & 0x8000;
    let bits: number;
    if (e >= -126 && e <= 127) {
      bits = ((e + 127) << 7) | ((hi >>> 13) & 0x7f);
      bits += (hi >>> 12) & (((hi & 0xfff) | w[2 * i] | (bits & 1)) !== 0 ? 1 : 0);
    } else if (e < -126) {
      bits = (Math.abs(values[i]) * TWO_POW_133 + ROUND_TO_INTEGER - ROUND_TO_INTEGER) | 0;
    } else {
      bits = e === 1024 && ((hi & 0xfffff) !== 0 || w[2 * i] !== 0) ? 0x7fc0 : 0x7f80;
    }
    out[i] = sign | bits;
  }
}

function f16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

function bf16Value(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 7) & 0xff;
  const mantissa = bits & 0x7f;
  if (exponent === 0xff) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -133;
  return sign * (128 + mantissa) * 2 ** (exponent - 134);
}

function buildTable(decode: (bits: number) => number): Float64Array {
  const table = new Float64Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = decode(bits);
  return table;
}

/** Every bit pattern's value: decoding is one lookup (512 KiB each, built on first use). */
let f16Table: Float64Array | undefined;
let bf16Table: Float64Array | undefined;

export function f16Table64(): Float64Array {
  return (f16Table ??= buildTable(f16Value));
}

export function bf16Table64(): Float64Array {
  return (bf16Table ??= buildTable(bf16Value));
}
