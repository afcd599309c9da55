/**
 * Where a blend job keeps its buffers: one shared WebAssembly memory, laid out once for the whole
 * job and never grown, holding everything the kernels touch. Reads land straight in it and outputs
 * are written straight from it, so no byte is copied between JavaScript and WebAssembly.
 */
import { BATCH, BLOCK_BYTES } from './blend-kernels.js';
import { controlBytes } from './work-claims.js';

export interface BlendLayout {
  /** Per thread: BATCH decoded blocks of float64, BLOCK_BYTES apart. */
  readonly scratch: readonly number[];
  /** The threads' claim counters (work-claims.ts). */
  readonly control: number;
  /** targets x BATCH float64: the weights of the batch being accumulated. */
  readonly weights: number;
  /** Per target: chunkElements float64 running sums. */
  readonly accumulators: readonly number[];
  /** Per target: the encoded window being written. */
  readonly outputs: readonly number[];
  /** Sets of BATCH read buffers of rawBytes each, used in turn. */
  readonly raw: readonly (readonly number[])[];
  readonly totalBytes: number;
}

export interface BlendSizes {
  readonly targets: number;
  readonly chunkElements: number;
  /** The largest read buffer any window needs (read-plan.ts readBufferBytes). */
  readonly rawBytes: number;
  /** The largest encoded output window. */
  readonly outputBytes: number;
  readonly threads: number;
  /** Read buffer sets: one being accumulated, the others being read. */
  readonly bufferSets: number;
}

/** Cache-line alignment keeps every buffer's vectors from straddling lines. */
const ALIGN = 64;

export function planBlendLayout(sizes: BlendSizes): BlendLayout {
  let next = 0;
  const take = (bytes: number): number => {
    const at = next;
    next += Math.ceil(bytes / ALIGN) * ALIGN;
    return at;
  };
  const { targets, chunkElements, rawBytes, outputBytes, threads, bufferSets } = sizes;
  const scratch = Array.from({ length: threads }, () => take(BATCH * BLOCK_BYTES));
  const control = take(controlBytes(threads));
  const weights = take(targets * BATCH * 8);
  const accumulators = Array.from({ length: targets }, () => take(chunkElements * 8));
  const outputs = Array.from({ length: targets }, () => take(outputBytes));
  const raw = Array.from({ length: bufferSets }, () => Array.from({ length: BATCH }, () => take(rawBytes)));
  return { scratch, control, weights, accumulators, outputs, raw, totalBytes: next };
}
