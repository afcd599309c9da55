import { DTYPE_BYTES, type DType } from '../tensors/tensor-source.js';
import { BF16_FORMAT, bf16Table64, encodeHalfBulk, F16_FORMAT, f16Table64 } from './half-floats.js';

/**
 * Bulk conversion between stored little-endian float bytes and float64, the blend engine's hot
 * path. Aligned buffers are viewed as typed arrays directly (no DataView, no copy).
 */

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Decodes `bytes.byteLength / size` values of `dtype` into the start of `out`; returns the count. */
export function decodeFloats(dtype: DType, bytes: Uint8Array, out: Float64Array): number {
  const size = DTYPE_BYTES[dtype];
  const count = checkSizes(dtype, bytes.byteLength, out.length, 'decodeFloats');
  if (dtype === 'F16' || dtype === 'BF16') {
    const table = dtype === 'F16' ? f16Table64() : bf16Table64();
    if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
      const bits = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
      for (let i = 0; i < count; i++) out[i] = table[bits[i]];
    } else {
      for (let i = 0; i < count; i++) out[i] = table[bytes[2 * i] | (bytes[2 * i + 1] << 8)];
    }
    return count;
  }
  const source = aligned(bytes, size);
  if (dtype === 'F64') out.set(new Float64Array(source.buffer, source.byteOffset, count));
  else out.set(new Float32Array(source.buffer, source.byteOffset, count)); // exact widening
  return count;
}

/** Encodes all of `values` as `dtype` into the start of `out`, rounding to nearest, ties to even. */
export function encodeFloats(dtype: DType, values: Float64Array, out: Uint8Array): void {
  const size = DTYPE_BYTES[dtype];
  const count = values.length;
  checkSizes(dtype, out.byteLength, count, 'encodeFloats', true);
  const alignedOut = LITTLE_ENDIAN && out.byteOffset % size === 0;
  const target = alignedOut ? out : new Uint8Array(count * size);
  if (dtype === 'F16' || dtype === 'BF16') {
    const bits = new Uint16Array(target.buffer, target.byteOffset, count);
    encodeHalfBulk(dtype === 'F16' ? F16_FORMAT : BF16_FORMAT, values, bits);
  } else if (dtype === 'F32') {
    // Number -> float32 conversion is IEEE round-to-nearest-even; NaN stays NaN.
    new Float32Array(target.buffer, target.byteOffset, count).set(values);
  } else {
    new Float64Array(target.buffer, target.byteOffset, count).set(values);
  }
  if (!alignedOut) {
    if (!LITTLE_ENDIAN) swapBytes(target, size);
    out.set(target);
  }
}

function checkSizes(dtype: DType, byteLength: number, values: number, caller: string, encoding = false): number {
  if (dtype !== 'F64' && dtype !== 'F32' && dtype !== 'F16' && dtype !== 'BF16') {
    throw new RangeError(`${caller}: ${dtype} is not a float dtype`);
  }
  const size = DTYPE_BYTES[dtype];
  if (encoding) {
    if (byteLength < values * size) throw new RangeError(`${caller}: ${values} ${dtype} values need ${values * size} bytes, got ${byteLength}`);
    return values;
  }
  if (byteLength % size !== 0) throw new RangeError(`${caller}: ${byteLength} bytes is not a whole number of ${dtype} values`);
  const count = byteLength / size;
  if (values < count) throw new RangeError(`${caller}: ${count} values do not fit in an output of ${values}`);
  return count;
}

/** A copy at offset 0 (hence aligned) when the view is misaligned, or on a big-endian host, swapped. */
function aligned(bytes: Uint8Array, size: number): Uint8Array {
  if (LITTLE_ENDIAN && bytes.byteOffset % size === 0) return bytes;
  const copy = bytes.slice();
  if (!LITTLE_ENDIAN) swapBytes(copy, size);
  return copy;
}

function swapBytes(bytes: Uint8Array, size: number): void {
  for (let start = 0; start < bytes.byteLength; start += size) bytes.subarray(start, start + size).reverse();
}
