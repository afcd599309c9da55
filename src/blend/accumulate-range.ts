/**
 * One batch's work on a range of a window's elements: decode each snapshot's block to float64, then
 * add the batch to every target, block by block so the decoded values stay in cache. The main
 * thread and each helper worker run this on their share of the window (thread-count.ts); shares
 * never overlap and each element's sum is formed by one thread in snapshot order, so the number of
 * threads changes no bit.
 *
 * A zero weight is skipped (not multiplied), as the plain loop does, so -0 and non-finite values in
 * unused snapshots behave the same whatever the batching.
 */
import { BATCH, BLOCK, BLOCK_BYTES, type BlendKernels } from './blend-kernels.js';
import { decodeBlock, encodeBlock, type SegmentShape } from './block-codec.js';

/** Everything is a byte address in the blend memory, so this crosses to the worker as plain numbers. */
export interface RangeWork {
  readonly segments: readonly SegmentShape[];
  /** offsets[j][s]: byte offset of segment s in snapshot j's read buffer. */
  readonly offsets: readonly (readonly number[])[];
  /** raw[j]: snapshot j's read buffer. */
  readonly raw: readonly number[];
  readonly count: number;
  readonly accumulators: readonly number[];
  /** targets x BATCH float64: this batch's weights. */
  readonly weights: number;
  readonly from: number;
  readonly to: number;
  /** The window's first batch: the sums are zeroed first. */
  readonly first: boolean;
  /** The last batch: encode each block's sums into `outputs` while they are in cache. */
  readonly last: boolean;
  /** With `last`: check each block's sums for NaN/Inf too. */
  readonly check: boolean;
  /** outputs[k]: target k's encoded window. */
  readonly outputs: readonly number[];
}

/** Where a sum first became NaN or +-Inf: the target and the window element. */
export interface NonFiniteAt {
  readonly target: number;
  readonly element: number;
}

/**
 * Accumulates the batch over [from, to) using `scratch` (BATCH decoded blocks); on the last batch
 * also encodes the sums and, with `check`, returns the first non-finite sum (and stops). `memory`
 * views the blend memory.
 */
export function accumulateRange(kernels: BlendKernels, memory: Float64Array, work: RangeWork, scratch: number): NonFiniteAt | undefined {
  const { segments, offsets, raw, count, accumulators: acc, weights } = work;
  const targets = acc.length;
  const weightsOf = (k: number): number => weights + 8 * BATCH * k;
  const full = Array.from({ length: targets }, (_, k) => !hasZero(memory, weightsOf(k), count));
  const accumulate = kernels.accumulate;
  for (let from = work.from; from < work.to; from += BLOCK) {
    const n = Math.min(BLOCK, work.to - from);
    for (let j = 0; j < count; j++) decodeBlock(kernels, segments, offsets[j], raw[j], from, n, scratch + j * BLOCK_BYTES);
    // The window's sums start at zero, set block by block right before use (while in cache).
    if (work.first) for (let k = 0; k < targets; k++) kernels.zeroF64(acc[k] + 8 * from, n);
    for (let k = 0; k < targets;) {
      if (full[k] && k + 1 < targets && full[k + 1]) {
        // Two targets per pass: each decoded value is loaded once for both.
        accumulate[1][count - 1](acc[k] + 8 * from, acc[k + 1] + 8 * from, n, scratch, weightsOf(k), weightsOf(k + 1));
        k += 2;
      } else {
        if (full[k]) accumulate[0][count - 1](acc[k] + 8 * from, 0, n, scratch, weightsOf(k), 0);
        else accumulateNonZero(kernels, memory, acc[k] + 8 * from, n, scratch, weightsOf(k), count);
        k += 1;
      }
    }
    if (!work.last) continue;
    for (let target = 0; target < targets; target++) {
      const at = acc[target] + 8 * from;
      if (work.check && kernels.anyNonFinite(at, n) !== 0) return { target, element: from + firstNonFinite(memory, at, n) };
      encodeBlock(kernels, segments, acc[target], work.outputs[target], from, n);
    }
  }
  return undefined;
}

/** One snapshot at a time, skipping zero weights: the same roundings as the full kernels. */
function accumulateNonZero(kernels: BlendKernels, memory: Float64Array, at: number, n: number, scratch: number, weights: number, count: number): void {
  for (let j = 0; j < count; j++) {
    if (memory[weights / 8 + j] !== 0) kernels.accumulate[0][0](at, 0, n, scratch + j * BLOCK_BYTES, weights + 8 * j, 0);
  }
}

function hasZero(memory: Float64Array, weights: number, count: number): boolean {
  for (let j = 0; j < count; j++) if (memory[weights / 8 + j] === 0) return true;
  return false;
}

/** Index (relative to the address) of the first NaN or +-Inf among n float64 values, or -1. */
function firstNonFinite(memory: Float64Array, address: number, n: number): number {
  for (let j = 0; j < n; j++) if (!Number.isFinite(memory[address / 8 + j])) return j;
  return -1;
}
