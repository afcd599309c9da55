/**
 * IEEE binary16 (F16) and bfloat16 (BF16) to and from float64. Both are a sign, an exponent and a
 * mantissa of fewer bits than float32, so one implementation serves both, given the mantissa width
 * and the exponent bias (everything else follows from those two).
 *
 * Encoding rounds to nearest, ties to even, directly from the float64 bits. Going through
 * float32 first would round twice (a value just above a half-way point can become the half-way
 * point in float32 and then round to even the wrong way).
 */

export interface HalfFormat {
  readonly mantissaBits: number;
  readonly bias: number;
}

export const F16_FORMAT: HalfFormat = { mantissaBits: 10, bias: 15 };
export const BF16_FORMAT: HalfFormat = { mantissaBits: 7, bias: 127 };

/** Bits of +Infinity: all exponent bits set. */
export function infinityBits(f: HalfFormat): number {
  return (2 * f.bias + 1) << f.mantissaBits;
}

/** Bits of the quiet NaN produced for any NaN input. */
export function quietNaNBits(f: HalfFormat): number {
  return infinityBits(f) | (1 << (f.mantissaBits - 1));
}

/** log2 of the reciprocal of the smallest subnormal (24 for F16, 133 for BF16). */
export function subnormalScaleLog2(f: HalfFormat): number {
  return f.bias - 1 + f.mantissaBits;
}

/** 2^52: adding and subtracting it rounds a non-negative double below 2^51 to an integer, ties to even. */
const ROUND_TO_INTEGER = 4503599627370496;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Encodes all of `values` into `out`, reading each double's two 32-bit words through one view of
 * the whole input (no scratch store per element).
 */
export function encodeHalfBulk(f: HalfFormat, values: Float64Array, out: Uint16Array): void {
  const words = LITTLE_ENDIAN ? new Uint32Array(values.buffer, values.byteOffset, values.length * 2) : wordsOf(values);
  const m = f.mantissaBits;
  const shift = 20 - m; // the kept mantissa bits of the high word start here
  const mantissaMask = (1 << m) - 1;
  const stickyMask = (1 << (shift - 1)) - 1;
  const minExponent = 1 - f.bias;
  const scale = 2 ** subnormalScaleLog2(f);
  const infinity = infinityBits(f);
  const nan = quietNaNBits(f);
  for (let i = 0, n = values.length; i < n; i++) {
    const lo = words[2 * i]; // words hold each double low word first (wordsOf keeps that order)
    const hi = words[2 * i + 1];
    const e = ((hi >>> 20) & 0x7ff) - 1023;
    const sign = (hi >>> 16) & 0x8000;
    let bits: number;
    if (e >= minExponent && e <= f.bias) {
      bits = ((e + f.bias) << m) | ((hi >>> shift) & mantissaMask);
      // Round half to even: add the rounding bit when anything below it, or the last kept bit, is
      // set. A carry into the exponent is the correct rounding, up to infinity.
      bits += (hi >>> (shift - 1)) & (((hi & stickyMask) | lo | (bits & 1)) !== 0 ? 1 : 0);
    } else if (e < minExponent) {
      // Subnormal (or zero): count units of the smallest subnormal; scaling by a power of two is exact.
      bits = (Math.abs(values[i]) * scale + ROUND_TO_INTEGER - ROUND_TO_INTEGER) | 0;
    } else {
      bits = e === 1024 && ((hi & 0xfffff) !== 0 || lo !== 0) ? nan : infinity;
    }
    out[i] = sign | bits;
  }
}

/** The two 32-bit words of each double, low word first, on a big-endian machine. */
function wordsOf(values: Float64Array): Uint32Array {
  const words = new Uint32Array(values.length * 2);
  const view = new DataView(words.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat64(8 * i, values[i], true);
  for (let i = 0; i < words.length; i++) words[i] = view.getUint32(4 * i, true);
  return words;
}

function halfValue(f: HalfFormat, bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> f.mantissaBits) & (2 * f.bias + 1);
  const mantissa = bits & ((1 << f.mantissaBits) - 1);
  if (exponent === 2 * f.bias + 1) return mantissa === 0 ? sign * Infinity : NaN;
  if (exponent === 0) return sign * mantissa * 2 ** -subnormalScaleLog2(f);
  return sign * ((1 << f.mantissaBits) + mantissa) * 2 ** (exponent - f.bias - f.mantissaBits);
}

function buildTable(f: HalfFormat): Float64Array {
  const table = new Float64Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = halfValue(f, bits);
  return table;
}

/** Every bit pattern's value: decoding is one lookup (512 KiB each, built on first use). */
let f16Table: Float64Array | undefined;
let bf16Table: Float64Array | undefined;

export function f16Table64(): Float64Array {
  return (f16Table ??= buildTable(F16_FORMAT));
}

export function bf16Table64(): Float64Array {
  return (bf16Table ??= buildTable(BF16_FORMAT));
}
