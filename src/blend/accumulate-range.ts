/**
 * One batch's work on a range of a window's elements: decode each snapshot's block to float64, then
 * add the batch to every target, block by block so the decoded values stay in cache. The main
 * thread and the helper worker each run this on their half of the window; blocks never overlap and
 * each element's sum is formed by one thread in snapshot order, so the split changes no bit.
 */
import { accumulateBatch, accumulatePair } from './accumulate.js';
import { anyNonFinite, decodeBlock, firstNonFinite, type RawBuffer } from './decode-block.js';
import type { Segment } from './windows.js';

/** Elements per cache block: 8 decoded float64 blocks of 8 KiB stay in L1/L2 (measured best of 256 to 4096). */
export const BLOCK = 1024;

/** The part of a Segment that decoding needs (what crosses to the worker). */
export type SegmentShape = Pick<Segment, 'windowOffset' | 'count'> & { readonly tensor: Pick<Segment['tensor'], 'inputDType'> };

export interface RangeWork {
  readonly segments: readonly SegmentShape[];
  /** offsets[j]: byte offset of each segment in raw[j]. */
  readonly offsets: readonly (readonly number[])[];
  readonly raw: readonly RawBuffer[];
  readonly count: number;
  readonly accumulators: readonly Float64Array[];
  /** weights[k]: target k's weights for this batch. */
  readonly weights: readonly Float64Array[];
  readonly from: number;
  readonly to: number;
  /** The last batch of the window: check each block's sums for NaN/Inf while they are in cache. */
  readonly check: boolean;
}

/** Where a sum first became NaN or +-Inf: the target and the window element. */
export interface NonFiniteAt {
  readonly target: number;
  readonly element: number;
}

/** Accumulates the batch over [from, to); with `check`, returns the first non-finite sum (and stops). */
export function accumulateRange(work: RangeWork, values: readonly Float64Array[]): NonFiniteAt | undefined {
  const { segments, offsets, raw, count, accumulators: acc, weights } = work;
  for (let from = work.from; from < work.to; from += BLOCK) {
    const n = Math.min(BLOCK, work.to - from);
    for (let j = 0; j < count; j++) decodeBlock(segments as readonly Segment[], offsets[j], raw[j], from, n, values[j]);
    let k = 0;
    for (; k + 2 <= acc.length; k += 2) accumulatePair(acc[k], acc[k + 1], from, n, values, weights[k], weights[k + 1], count);
    if (k < acc.length) accumulateBatch(acc[k], from, n, values, weights[k], count);
    if (!work.check) continue;
    for (let target = 0; target < acc.length; target++) {
      if (anyNonFinite(acc[target], from, n)) return { target, element: from + firstNonFinite(acc[target], from, n) };
    }
  }
  return undefined;
}
