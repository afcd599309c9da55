/**
 * Decodes a block of a window's elements from one snapshot's raw bytes into float64, checking for
 * NaN/Inf on the way (F16/BF16: exponent bits tested with integer ORs while decoding through the
 * 65,536-entry table; F32/F64: a pass over the decoded block while it is in L1).
 */
import { bf16Table64, f16Table64 } from '../safetensors/half-floats.js';
import { DTYPE_BYTES } from '../tensors/tensor-source.js';
import type { Segment } from './windows.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A read buffer with whole-buffer typed views, so decoding allocates nothing. */
export class RawBuffer {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly u16: Uint16Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;

  constructor(byteLength: number, shared = false) {
    const size = Math.ceil(byteLength / 8) * 8;
    const buffer = shared ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
    this.bytes = new Uint8Array(buffer);
    this.view = new DataView(buffer);
    this.u16 = new Uint16Array(buffer);
    this.f32 = new Float32Array(buffer);
    this.f64 = new Float64Array(buffer);
  }
}

/**
 * Writes window elements [from, from + count) into out[0, count). Returns the window index of the
 * first non-finite value, or -1 (always -1 when `check` is false).
 */
export function decodeBlock(segments: readonly Segment[], offsets: readonly number[], raw: RawBuffer, from: number, count: number, out: Float64Array, check: boolean): number {
  let s = firstSegment(segments, from);
  let done = 0;
  while (done < count) {
    const segment = segments[s];
    const inSegment = from + done - segment.windowOffset;
    const n = Math.min(count - done, segment.count - inSegment);
    const dtype = segment.tensor.inputDType;
    const byte = offsets[s] + inSegment * DTYPE_BYTES[dtype];
    let bad: number;
    if (dtype === 'F32') bad = decodeF32(raw, byte, n, out, done, check);
    else if (dtype === 'F16' || dtype === 'BF16') bad = decodeHalf(dtype === 'F16' ? f16Table64() : bf16Table64(), dtype === 'F16' ? 0x7c00 : 0x7f80, raw, byte, n, out, done, check);
    else bad = decodeF64(raw, byte, n, out, done, check);
    if (bad >= 0) return from + done + bad;
    done += n;
    s++;
  }
  return -1;
}

function firstSegment(segments: readonly Segment[], element: number): number {
  let lo = 0;
  let hi = segments.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (segments[mid].windowOffset <= element) lo = mid;
    else hi = mid - 1;
  }
  // Skip empty segments sitting at the same offset.
  while (lo < segments.length - 1 && segments[lo].windowOffset + segments[lo].count <= element) lo++;
  return lo;
}

function decodeF32(raw: RawBuffer, byte: number, n: number, out: Float64Array, at: number, check: boolean): number {
  if (LITTLE_ENDIAN && byte % 4 === 0) {
    // The built-in widening copy is about 3x faster than a JavaScript loop.
    out.set(raw.f32.subarray(byte >>> 2, (byte >>> 2) + n), at);
  } else {
    for (let j = 0; j < n; j++) out[at + j] = raw.view.getFloat32(byte + 4 * j, true);
  }
  return check && anyNonFinite(out, at, n) ? firstNonFinite(out, at, n) : -1;
}

/**
 * finite * 0 is +-0 and NaN * 0 or Inf * 0 is NaN, so four independent sums of v * 0 are zero exactly
 * when all values are finite (four chains hide the add latency; the block is in L1).
 */
function anyNonFinite(out: Float64Array, at: number, n: number): boolean {
  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let p3 = 0;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    p0 += out[at + j] * 0;
    p1 += out[at + j + 1] * 0;
    p2 += out[at + j + 2] * 0;
    p3 += out[at + j + 3] * 0;
  }
  for (; j < n; j++) p0 += out[at + j] * 0;
  return p0 + p1 + p2 + p3 !== 0;
}

function decodeHalf(table: Float64Array, exponent: number, raw: RawBuffer, byte: number, n: number, out: Float64Array, at: number, check: boolean): number {
  if (LITTLE_ENDIAN && byte % 2 === 0) {
    const u16 = raw.u16;
    const base = byte >>> 1;
    let bad = 0;
    if (check) {
      for (let j = 0; j < n; j++) {
        const bits = u16[base + j];
        out[at + j] = table[bits];
        bad |= (bits & exponent) === exponent ? 1 : 0;
      }
    } else {
      for (let j = 0; j < n; j++) out[at + j] = table[u16[base + j]];
    }
    return bad !== 0 ? firstNonFinite(out, at, n) : -1;
  }
  for (let j = 0; j < n; j++) out[at + j] = table[raw.view.getUint16(byte + 2 * j, true)];
  return check ? firstNonFinite(out, at, n) : -1;
}

function decodeF64(raw: RawBuffer, byte: number, n: number, out: Float64Array, at: number, check: boolean): number {
  if (LITTLE_ENDIAN && byte % 8 === 0) out.set(raw.f64.subarray(byte >>> 3, (byte >>> 3) + n), at);
  else for (let j = 0; j < n; j++) out[at + j] = raw.view.getFloat64(byte + 8 * j, true);
  return check && anyNonFinite(out, at, n) ? firstNonFinite(out, at, n) : -1;
}

/** Index (relative to `at`) of the first NaN or +-Inf among out[at, at + n), or -1. */
function firstNonFinite(out: Float64Array, at: number, n: number): number {
  for (let j = 0; j < n; j++) if (!Number.isFinite(out[at + j])) return j;
  return -1;
}
