/**
 * A block of a window's elements in and out of float64: decoded from one snapshot's raw bytes, and
 * encoded from one target's sums, segment by segment (a block may span several tensors, and the
 * tensors of one window may differ in dtype). Everything lives in the blend memory.
 */
import type { BlendKernels } from './blend-kernels.js';
import { DTYPE_BYTES } from '../tensors/tensor-source.js';
import type { Segment } from './windows.js';

/** The part of a Segment that decoding and encoding need (what crosses to the helper threads). */
export type SegmentShape = Pick<Segment, 'windowOffset' | 'count'> & {
  readonly tensor: Pick<Segment['tensor'], 'inputDType' | 'outputDType'>;
  /** Byte offset of the segment's first element in each target's encoded window. */
  readonly outputOffset: number;
};

/**
 * Calls `visit` for each piece of window elements [from, from + count) that lies in one segment:
 * s is the segment, inSegment the piece's first element within it, done its position in the block.
 */
function forEachPiece(segments: readonly SegmentShape[], from: number, count: number, visit: (s: number, inSegment: number, done: number, n: number) => void): void {
  let s = firstSegment(segments, from);
  for (let done = 0; done < count; s++) {
    const inSegment = from + done - segments[s].windowOffset;
    const n = Math.min(count - done, segments[s].count - inSegment);
    visit(s, inSegment, done, n);
    done += n;
  }
}

/**
 * Writes window elements [from, from + count) of one snapshot as float64 at address `out`; the
 * snapshot's read buffer is at `raw`, segment s at byte raw + offsets[s].
 */
export function decodeBlock(kernels: BlendKernels, segments: readonly SegmentShape[], offsets: readonly number[], raw: number, from: number, count: number, out: number): void {
  forEachPiece(segments, from, count, (s, inSegment, done, n) => {
    const dtype = segments[s].tensor.inputDType;
    const src = raw + offsets[s] + inSegment * DTYPE_BYTES[dtype];
    const dst = out + 8 * done;
    if (dtype === 'F32') kernels.decodeF32(src, dst, n);
    else if (dtype === 'F16') kernels.decodeF16(src, dst, n);
    else if (dtype === 'BF16') kernels.decodeBF16(src, dst, n);
    else if (dtype === 'F64') kernels.decodeF64(src, dst, n);
    else throw new RangeError(`cannot blend a tensor of dtype ${dtype}`);
  });
}

/**
 * Encodes window elements [from, from + count) of one target's float64 sums (the window's sums start
 * at `sums`) into its output window at `out`, each segment in its output dtype.
 */
export function encodeBlock(kernels: BlendKernels, segments: readonly SegmentShape[], sums: number, out: number, from: number, count: number): void {
  forEachPiece(segments, from, count, (s, inSegment, done, n) => {
    const dtype = segments[s].tensor.outputDType;
    const src = sums + 8 * (from + done);
    const dst = out + segments[s].outputOffset + inSegment * DTYPE_BYTES[dtype];
    if (dtype === 'F32') kernels.encodeF32(src, dst, n);
    else if (dtype === 'F16') kernels.encodeF16(src, dst, n);
    else if (dtype === 'BF16') kernels.encodeBF16(src, dst, n);
    else if (dtype === 'F64') kernels.decodeF64(src, dst, n); // a float64 copy
    else throw new RangeError(`cannot encode a blended tensor as ${dtype}`);
  });
}

function firstSegment(segments: readonly SegmentShape[], element: number): number {
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
