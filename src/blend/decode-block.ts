/**
 * Decodes a block of a window's elements from one snapshot's raw bytes into float64, straight from
 * whole-buffer typed views (F16/BF16 through the 65,536-entry table), so decoding allocates
 * nothing but subarray views.
 */
import { bf16Table64, f16Table64 } from '../safetensors/half-floats.js';
import { DTYPE_BYTES } from '../tensors/tensor-source.js';
import type { Segment } from './windows.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A read buffer with whole-buffer typed views, so decoding allocates nothing. */
export class RawBuffer {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly u16: Uint16Array;
  readonly u32: Uint32Array;
  readonly f32: Float32Array;
  readonly f64: Float64Array;

  /** A new buffer of at least `size` bytes (shared when a helper thread reads it too), or views over `size`. */
  constructor(size: number | SharedArrayBuffer, shared = false) {
    const rounded = typeof size === 'number' ? Math.ceil(size / 8) * 8 : 0;
    this.buffer = typeof size !== 'number' ? size : shared ? new SharedArrayBuffer(rounded) : new ArrayBuffer(rounded);
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.u16 = new Uint16Array(this.buffer);
    this.u32 = new Uint32Array(this.buffer);
    this.f32 = new Float32Array(this.buffer);
    this.f64 = new Float64Array(this.buffer);
  }
}

/** Writes window elements [from, from + count) of one snapshot into out[0, count). */
export function decodeBlock(segments: readonly Segment[], offsets: readonly number[], raw: RawBuffer, from: number, count: number, out: Float64Array): void {
  let s = firstSegment(segments, from);
  let done = 0;
  while (done < count) {
    const segment = segments[s];
    const inSegment = from + done - segment.windowOffset;
    const n = Math.min(count - done, segment.count - inSegment);
    const dtype = segment.tensor.inputDType;
    const byte = offsets[s] + inSegment * DTYPE_BYTES[dtype];
    if (dtype === 'F32') decodeF32(raw, byte, n, out, done);
    else if (dtype === 'F16') decodeHalf(f16Table64(), raw, byte, n, out, done);
    else if (dtype === 'BF16') decodeHalf(bf16Table64(), raw, byte, n, out, done);
    else decodeF64(raw, byte, n, out, done);
    done += n;
    s++;
  }
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

function decodeF32(raw: RawBuffer, byte: number, n: number, out: Float64Array, at: number): void {
  // The built-in widening copy is about 3x faster than a JavaScript loop.
  if (LITTLE_ENDIAN && byte % 4 === 0) out.set(raw.f32.subarray(byte >>> 2, (byte >>> 2) + n), at);
  else for (let j = 0; j < n; j++) out[at + j] = raw.view.getFloat32(byte + 4 * j, true);
}

function decodeHalf(table: Float64Array, raw: RawBuffer, byte: number, n: number, out: Float64Array, at: number): void {
  if (LITTLE_ENDIAN && byte % 4 === 0) {
    // Two values per 32-bit load: half the loads and loop iterations of one value at a time.
    const u32 = raw.u32;
    const base = byte >>> 2;
    const pairs = n >>> 1;
    for (let p = 0; p < pairs; p++) {
      const word = u32[base + p];
      out[at + 2 * p] = table[word & 0xffff];
      out[at + 2 * p + 1] = table[word >>> 16];
    }
    if (n & 1) out[at + n - 1] = table[raw.u16[(byte >>> 1) + n - 1]];
  } else if (LITTLE_ENDIAN && byte % 2 === 0) {
    const u16 = raw.u16;
    const base = byte >>> 1;
    for (let j = 0; j < n; j++) out[at + j] = table[u16[base + j]];
  } else {
    for (let j = 0; j < n; j++) out[at + j] = table[raw.view.getUint16(byte + 2 * j, true)];
  }
}

function decodeF64(raw: RawBuffer, byte: number, n: number, out: Float64Array, at: number): void {
  if (LITTLE_ENDIAN && byte % 8 === 0) out.set(raw.f64.subarray(byte >>> 3, (byte >>> 3) + n), at);
  else for (let j = 0; j < n; j++) out[at + j] = raw.view.getFloat64(byte + 8 * j, true);
}

/**
 * Whether any of values[at, at + n) is NaN or +-Inf: finite * 0 is +-0, NaN * 0 and Inf * 0 are
 * NaN, so four independent sums of v * 0 (four chains hide the add latency) are zero exactly when
 * all values are finite.
 */
export function anyNonFinite(values: Float64Array, at: number, n: number): boolean {
  let p0 = 0;
  let p1 = 0;
  let p2 = 0;
  let p3 = 0;
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    p0 += values[at + j] * 0;
    p1 += values[at + j + 1] * 0;
    p2 += values[at + j + 2] * 0;
    p3 += values[at + j + 3] * 0;
  }
  for (; j < n; j++) p0 += values[at + j] * 0;
  return p0 + p1 + p2 + p3 !== 0;
}

/** Index (relative to `at`) of the first NaN or +-Inf among values[at, at + n), or -1. */
export function firstNonFinite(values: Float64Array, at: number, n: number): number {
  for (let j = 0; j < n; j++) if (!Number.isFinite(values[at + j])) return j;
  return -1;
}
