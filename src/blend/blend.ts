/**
 * The streaming blend engine: out_k = sum_i weights[k][i] * snapshot_i for every target k, in one
 * pass over the snapshots. Memory is bounded by targets x window, whatever the model size: each
 * window of elements is read from every snapshot in turn (the next read overlapping the current
 * accumulation), accumulated in float64, then encoded once per target and handed to its sink.
 */
import { InputFileError } from '../errors.js';
import { decodeFloats, encodeFloats } from '../safetensors/dtype-convert.js';
import { DTYPE_BYTES, type TensorSource } from '../tensors/tensor-source.js';
import type { PlannedTensor } from './blend-plan.js';
import { firstNonFinite } from './non-finite.js';
import { planWindows, type Segment, type Window } from './windows.js';

export interface TensorSink {
  write(bytes: Uint8Array): Promise<void>;
}

export interface BlendJob {
  /** The snapshots used, in the order of the weights' columns. */
  readonly sources: readonly TensorSource[];
  /** weights[k][i]: coefficient of source i in target k. */
  readonly weights: readonly (readonly number[])[];
  readonly plan: readonly PlannedTensor[];
  /** Where non-float tensors are copied from (the latest snapshot used). */
  readonly copySource: TensorSource;
  /** One sink per target, receiving the output tensors' bytes in plan order. */
  readonly sinks: readonly TensorSink[];
  readonly chunkElements: number;
  /** Proceed past NaN/Inf in a snapshot instead of stopping (they then poison the outputs). */
  readonly allowNonFinite?: boolean;
  readonly onProgress?: (bytesRead: number) => void;
  readonly signal?: AbortSignal;
}

const ALIGN = 8;

export async function blendSnapshots(job: BlendJob): Promise<{ bytesRead: number }> {
  if (job.weights.length !== job.sinks.length) throw new RangeError(`${job.weights.length} weight rows for ${job.sinks.length} sinks`);
  const buffers = new BlendBuffers(job.chunkElements, job.sinks.length);
  let bytesRead = 0;
  for (const window of planWindows(job.plan, job.chunkElements)) {
    job.signal?.throwIfAborted();
    bytesRead += window.mode === 'copy' ? await copyWindow(job, window, buffers) : await blendWindow(job, window, buffers);
    job.onProgress?.(bytesRead);
  }
  return { bytesRead };
}

class BlendBuffers {
  readonly reads: [Uint8Array, Uint8Array];
  readonly values: Float64Array;
  readonly accumulators: Float64Array[];
  output: Uint8Array;

  constructor(chunkElements: number, targets: number) {
    const bytes = chunkElements * 8 + ALIGN;
    this.reads = [new Uint8Array(bytes), new Uint8Array(bytes)];
    this.values = new Float64Array(chunkElements);
    this.accumulators = Array.from({ length: targets }, () => new Float64Array(chunkElements));
    this.output = new Uint8Array(bytes);
  }

  /** Read buffer `which`, grown if a window of many small tensors needs more alignment padding. */
  read(which: 0 | 1, bytes: number): Uint8Array {
    if (this.reads[which].byteLength < bytes) this.reads[which] = new Uint8Array(bytes);
    return this.reads[which];
  }
}

/** Byte offsets of each segment's input inside the read buffer, each aligned for typed-array views. */
function inputLayout(segments: readonly Segment[]): { offsets: number[]; total: number } {
  const offsets: number[] = [];
  let total = 0;
  for (const segment of segments) {
    offsets.push(total);
    total += Math.ceil((segment.count * DTYPE_BYTES[segment.tensor.inputDType]) / ALIGN) * ALIGN;
  }
  return { offsets, total };
}

async function readWindow(source: TensorSource, segments: readonly Segment[], offsets: readonly number[], buffer: Uint8Array): Promise<void> {
  await Promise.all(segments.map((segment, s) => {
    const size = DTYPE_BYTES[segment.tensor.inputDType];
    return source.read(segment.tensor.name, segment.start * size, buffer.subarray(offsets[s], offsets[s] + segment.count * size));
  }));
}

async function blendWindow(job: BlendJob, window: Window, buffers: BlendBuffers): Promise<number> {
  const { segments, elements } = window;
  const { offsets, total } = inputLayout(segments);
  const targets = job.sinks.length;
  for (const accumulator of buffers.accumulators) accumulator.fill(0, 0, elements);
  let bytesRead = 0;
  let pending = readWindow(job.sources[0], segments, offsets, buffers.read(0, total));
  for (let i = 0; i < job.sources.length; i++) {
    await pending;
    const current = buffers.reads[(i % 2) as 0 | 1];
    if (i + 1 < job.sources.length) pending = readWindow(job.sources[i + 1], segments, offsets, buffers.read(((i + 1) % 2) as 0 | 1, total));
    segments.forEach((segment, s) => {
      const size = DTYPE_BYTES[segment.tensor.inputDType];
      const values = buffers.values.subarray(segment.windowOffset, segment.windowOffset + segment.count);
      decodeFloats(segment.tensor.inputDType, current.subarray(offsets[s], offsets[s] + segment.count * size), values);
      bytesRead += segment.count * size;
      if (!job.allowNonFinite) checkFinite(job.sources[i], segment, values);
    });
    for (let k = 0; k < targets; k++) {
      const weight = job.weights[k][i];
      if (weight === 0) continue;
      const accumulator = buffers.accumulators[k];
      const values = buffers.values;
      for (let e = 0; e < elements; e++) accumulator[e] += weight * values[e];
    }
  }
  for (let k = 0; k < targets; k++) await job.sinks[k].write(encodeWindow(segments, buffers.accumulators[k], buffers));
  return bytesRead;
}

function encodeWindow(segments: readonly Segment[], accumulator: Float64Array, buffers: BlendBuffers): Uint8Array {
  let total = 0;
  for (const segment of segments) total += segment.count * DTYPE_BYTES[segment.tensor.outputDType];
  if (buffers.output.byteLength < total) buffers.output = new Uint8Array(total);
  let offset = 0;
  for (const segment of segments) {
    const bytes = segment.count * DTYPE_BYTES[segment.tensor.outputDType];
    encodeFloats(segment.tensor.outputDType, accumulator.subarray(segment.windowOffset, segment.windowOffset + segment.count), buffers.output.subarray(offset, offset + bytes));
    offset += bytes;
  }
  return buffers.output.subarray(0, total);
}

function checkFinite(source: TensorSource, segment: Segment, values: Float64Array): void {
  const index = firstNonFinite(values, segment.count);
  if (index < 0) return;
  throw new InputFileError(
    `${source.path}: tensor ${JSON.stringify(segment.tensor.name)} holds ${values[index]} at element ${segment.start + index}`,
    'one non-finite snapshot would poison every output; remove the file, or pass --allow-nonfinite to proceed anyway',
  );
}

async function copyWindow(job: BlendJob, window: Window, buffers: BlendBuffers): Promise<number> {
  const [segment] = window.segments;
  const size = DTYPE_BYTES[segment.tensor.inputDType];
  const bytes = buffers.read(0, segment.count * size).subarray(0, segment.count * size);
  await job.copySource.read(segment.tensor.name, segment.start * size, bytes);
  for (const sink of job.sinks) await sink.write(bytes);
  return bytes.byteLength;
}
