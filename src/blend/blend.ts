/**
 * The streaming blend engine: out_k = sum_i weights[k][i] * snapshot_i for every target k, in one
 * pass over the snapshots. Memory is bounded by targets x window, whatever the model size.
 *
 * Per window of elements, snapshots are read in batches of 8 (one coalesced read per snapshot; the
 * next two batches, of this window or the next, are read while the current one is accumulated).
 * The accumulation runs over blocks of a thousand elements that stay in the CPU cache: each
 * snapshot's block is decoded to float64 once, then every target adds the batch with its running sum
 * held in a register. Per element the sum is `acc += w * v` one snapshot at a time in ascending
 * order, exactly as a plain loop, so the bytes written do not depend on K, the window size or the
 * batching. NaN/Inf are caught in the sums (non-finite.ts). Outputs are encoded block by block during
 * the window's last batch, while the sums are in cache, and written while the next window is
 * computed. The arithmetic runs in WebAssembly kernels (blend-kernels.ts) over one shared memory
 * holding every buffer (blend-memory.ts); each batch's window is split over the main thread and
 * helper workers (thread-count.ts decides how many, work-claims.ts how they share a batch).
 */
import { HandlePool } from '../io/handle-pool.js';
import { DTYPE_BYTES, type TensorSource } from '../tensors/tensor-source.js';
import { accumulateRange, type NonFiniteAt, type RangeWork } from './accumulate-range.js';
import { BATCH, BLOCK, createBlendMemory, instantiateKernels, type BlendKernels } from './blend-kernels.js';
import { planBlendLayout, type BlendLayout } from './blend-memory.js';
import type { PlannedTensor } from './blend-plan.js';
import type { SegmentShape } from './block-codec.js';
import { nonFiniteSourceError } from './non-finite.js';
import { chunkElementsFor } from './chunk-size.js';
import { BlendHelpers } from './parallel.js';
import { planSourceReads, readBufferBytes, type SourceReads } from './read-plan.js';
import { defaultThreads, threadsForWork } from './thread-count.js';
import { claimBlocks, WorkControl } from './work-claims.js';
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
  /** Elements per window (default: chunk-size.ts, from the targets and the threads used). */
  readonly chunkElements?: number;
  /** Proceed past NaN/Inf in a snapshot instead of stopping (they then poison the outputs). */
  readonly allowNonFinite?: boolean;
  readonly onProgress?: (bytesRead: number) => void;
  readonly signal?: AbortSignal;
  /** Most snapshot files held open at once (default 64); the others are reopened when read. */
  readonly maxOpenFiles?: number;
  /** Exactly this many threads accumulate (the main one and threads - 1 workers); overrides maxThreads. */
  readonly threads?: number;
  /** At most this many threads (default: one per core, at most 16), fewer when the job is small (thread-count.ts). */
  readonly maxThreads?: number;
}

/**
 * Batches being read while one is accumulated. With one, the next batch's reads started only when
 * all of this one's were done, so the disk's queue ran dry at every batch boundary: a cold blend of
 * 256 files took 1.85 to 2.16 s where Node keeping eight reads in flight reads them in 1.4 s. Two:
 * 1.61 to 1.86 s (alternating runs; four were no better beyond the noise).
 */
const READ_AHEAD = 2;
const DEFAULT_MAX_OPEN_FILES = 64;

export async function blendSnapshots(job: BlendJob): Promise<{ bytesRead: number }> {
  if (job.weights.length !== job.sinks.length) throw new RangeError(`${job.weights.length} weight rows for ${job.sinks.length} sinks`);
  for (const row of job.weights) if (row.length !== job.sources.length) throw new RangeError(`a weight row has ${row.length} entries for ${job.sources.length} sources`);
  const targets = job.sinks.length;
  const work = blendedElements(job.plan) * job.sources.length * Math.max(1, targets);
  const threads = job.threads ?? threadsForWork(job.maxThreads ?? defaultThreads(), work);
  if (!Number.isSafeInteger(threads) || threads < 1) throw new RangeError(`threads must be a positive whole number, not ${threads}`);
  const windows = [...planWindows(job.plan, job.chunkElements ?? chunkElementsFor(targets, threads))];
  const engine = new BlendEngine(job, windows, threads);
  try {
    engine.startHelpers();
    let bytesRead = 0;
    for (const window of windows) {
      job.signal?.throwIfAborted();
      bytesRead += window.mode === 'copy' ? await engine.copyWindow(window) : await engine.blendWindow(window);
      job.onProgress?.(bytesRead);
    }
    await engine.flushWrites();
    return { bytesRead };
  } finally {
    await engine.settle();
  }
}

interface Batch {
  readonly first: number;
  readonly count: number;
  readonly reads: readonly SourceReads[];
  /** Addresses of the read buffers in the blend memory. */
  readonly raw: readonly number[];
  readonly done: Promise<void>;
}

class BlendEngine {
  private readonly pool: HandlePool<TensorSource>;
  private readonly layout: BlendLayout;
  private readonly memory: WebAssembly.Memory;
  private readonly kernels: BlendKernels;
  private readonly bytes: Uint8Array;
  private readonly float64: Float64Array;
  private helpers: BlendHelpers | undefined;
  private readonly control: WorkControl;
  /** Batches accumulated so far: each batch's claims carry its number. */
  private sequence = 0;
  /** weightBatches[k][b]: target k's weights for batch b, zero-copy views. */
  private readonly weightBatches: Float64Array[][];
  private readonly writes: Promise<void>[];
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Batches cycle through READ_AHEAD + 1 buffer sets, across windows too. */
  private batchCount = 0;
  /** Every batch of every blend window, in the order they are accumulated. */
  private readonly schedule: Iterator<{ readonly window: Window; readonly first: number }>;
  /** Batches started and not yet accumulated, oldest first (at most READ_AHEAD once one is taken). */
  private readonly ahead: { readonly window: Window; readonly batch: Promise<Batch> }[] = [];

  /** threads: accumulating each batch, this one and threads - 1 helpers. */
  constructor(private readonly job: BlendJob, windows: readonly Window[], private readonly threads: number) {
    const targets = job.sinks.length;
    // While one batch is accumulated, READ_AHEAD batches of files have reads in flight.
    this.pool = new HandlePool(Math.max(job.maxOpenFiles ?? DEFAULT_MAX_OPEN_FILES, READ_AHEAD * BATCH + 1));
    const blended = windows.filter((w) => w.mode === 'blend');
    // A reduce, not Math.max(...spread): a large model can have more windows than a call takes arguments.
    const largest = (size: (w: Window) => number): number => blended.reduce((most, w) => Math.max(most, size(w)), 0);
    this.layout = planBlendLayout({
      targets,
      chunkElements: largest((w) => w.elements),
      rawBytes: largest((w) => readBufferBytes(w.segments)),
      outputBytes: largest((w) => outputBytes(w.segments)),
      threads: this.threads,
      bufferSets: READ_AHEAD + 1,
    });
    this.schedule = batchSchedule(blended, job.sources.length);
    this.memory = createBlendMemory(this.layout.totalBytes);
    this.kernels = instantiateKernels(this.memory);
    this.bytes = new Uint8Array(this.memory.buffer);
    this.float64 = new Float64Array(this.memory.buffer);
    this.control = new WorkControl(this.memory.buffer, this.layout.control, this.threads);
    this.writes = Array.from({ length: targets }, () => Promise.resolve());
    this.weightBatches = job.weights.map((row) => {
      const all = Float64Array.from(row);
      return Array.from({ length: Math.ceil(row.length / BATCH) }, (_, b) => all.subarray(b * BATCH, (b + 1) * BATCH));
    });
  }

  startHelpers(): void {
    if (this.threads > 1) this.helpers = BlendHelpers.start(this.memory, this.layout.scratch.slice(1), this.layout.control);
  }

  async blendWindow(window: Window): Promise<number> {
    const { segments, elements } = window;
    const sources = this.job.sources;
    let bytesRead = 0;
    let nonFinite: NonFiniteAt | undefined;
    for (let b = 0, last = false; !last; b++) {
      this.readAhead();
      const started = this.ahead.shift();
      if (started?.window !== window) throw new Error('blend: batches out of step with windows');
      const batch: Batch = await started.batch;
      await batch.done;
      // Its buffer set is now free: the batch READ_AHEAD later goes into it.
      this.readAhead();
      // startBatch() issues its reads only after its own awaits: let it get there before this thread
      // turns to arithmetic, or the reads would wait for the whole batch to be accumulated.
      await Promise.all(this.ahead.map((a) => a.batch));
      last = batch.first + batch.count >= sources.length;
      // The last batch encodes into the output windows: the previous window's writes must be done.
      if (last) await this.flushWrites();
      nonFinite = await this.accumulate(b, batch, segments, elements, last);
      bytesRead += batch.count * windowInputBytes(segments);
    }
    if (nonFinite !== undefined) {
      const { target, element } = nonFinite;
      throw await nonFiniteSourceError(this.job.sources, this.job.weights[target], segments, element, (source) => this.pool.use(source));
    }
    this.startWrites(segments);
    return bytesRead;
  }

  async copyWindow(window: Window): Promise<number> {
    await this.flushWrites();
    const [segment] = window.segments;
    const size = DTYPE_BYTES[segment.tensor.inputDType];
    const bytes = new Uint8Array(segment.count * size);
    await this.pool.use(this.job.copySource);
    await this.job.copySource.read(segment.tensor.name, segment.start * size, bytes);
    for (const sink of this.job.sinks) await sink.write(bytes);
    return bytes.byteLength;
  }

  async flushWrites(): Promise<void> {
    await Promise.all(this.writes);
  }

  /** Waits for every read and write still running, so a failure never races the caller's cleanup. */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.helpers?.close();
  }

  /** Starts the scheduled batches until READ_AHEAD are waiting. */
  private readAhead(): void {
    while (this.ahead.length < READ_AHEAD) {
      const next = this.schedule.next();
      if (next.done === true) return;
      const { window, first } = next.value;
      this.ahead.push({ window, batch: this.track(this.startBatch(first, window.segments, readBufferBytes(window.segments))) });
    }
  }

  /** Issues the reads of sources [first, first + 8) into the buffer set whose batch was accumulated longest ago. */
  private async startBatch(first: number, segments: readonly Segment[], bufferBytes: number): Promise<Batch> {
    const count = Math.min(BATCH, this.job.sources.length - first);
    const raw = this.layout.raw[this.batchCount++ % this.layout.raw.length].slice(0, count);
    const reads: SourceReads[] = [];
    for (let j = 0; j < count; j++) {
      const source = this.job.sources[first + j];
      await this.pool.use(source);
      reads.push(planSourceReads(source, segments));
    }
    const done = this.track(Promise.all(reads.map((plan, j) => plan.read(this.bytes.subarray(raw[j], raw[j] + bufferBytes)))).then(() => undefined));
    return { first, count, reads, raw, done };
  }

  /**
   * Accumulates one batch into every target; with helpers, every thread claims runs of the window's
   * blocks until none are left (work-claims.ts).
   * The last batch also encodes the outputs and (unless NaN/Inf are allowed) returns the first
   * NaN/Inf sum (non-finite.ts explains why sums).
   */
  private async accumulate(b: number, batch: Batch, segments: readonly Segment[], elements: number, last: boolean): Promise<NonFiniteAt | undefined> {
    const { weights, accumulators, scratch, outputs } = this.layout;
    for (let k = 0; k < this.weightBatches.length; k++) this.float64.set(this.weightBatches[k][b], weights / 8 + k * BATCH);
    let outputOffset = 0;
    const shapes: SegmentShape[] = segments.map((s) => {
      const shape = { windowOffset: s.windowOffset, count: s.count, tensor: { inputDType: s.tensor.inputDType, outputDType: s.tensor.outputDType }, outputOffset };
      outputOffset += s.count * DTYPE_BYTES[s.tensor.outputDType];
      return shape;
    });
    const work: RangeWork = {
      segments: shapes, offsets: batch.reads.map((r) => r.segmentOffsets), raw: batch.raw, count: batch.count,
      accumulators, weights, from: 0, to: elements, first: b === 0, last, check: last && !this.job.allowNonFinite, outputs,
    };
    const blocks = Math.ceil(elements / BLOCK);
    if (this.helpers === undefined || blocks <= 1) return accumulateRange(this.kernels, this.float64, work, scratch[0]);
    const claims = { ...work, control: this.layout.control, sequence: ++this.sequence, claimBlocks: claimBlocks(elements, this.threads) };
    this.control.open(claims.sequence);
    this.helpers.post(claims);
    this.control.work(this.kernels, this.float64, claims, scratch[0], 0);
    await this.control.finished(blocks, this.helpers.failure);
    return this.control.firstNonFinite();
  }

  /** Starts writing each target's encoded window (the output area is reused once the write is done). */
  private startWrites(segments: readonly Segment[]): void {
    const bytes = outputBytes(segments);
    for (let k = 0; k < this.job.sinks.length; k++) {
      const output = this.layout.outputs[k];
      this.writes[k] = this.track(this.job.sinks[k].write(this.bytes.subarray(output, output + bytes)));
    }
  }

  /** Remembers a running operation until it settles; its rejection is seen by whoever awaits it. */
  private track<T>(promise: Promise<T>): Promise<T> {
    this.inFlight.add(promise);
    const forget = (): void => {
      this.inFlight.delete(promise);
    };
    promise.then(forget, forget);
    return promise;
  }
}

function* batchSchedule(windows: readonly Window[], sources: number): Generator<{ readonly window: Window; readonly first: number }> {
  for (const window of windows) for (let first = 0; first < sources; first += BATCH) yield { window, first };
}

function blendedElements(plan: readonly PlannedTensor[]): number {
  return plan.reduce((sum, tensor) => sum + (tensor.mode === 'blend' ? tensor.elements : 0), 0);
}

function outputBytes(segments: readonly Segment[]): number {
  let bytes = 0;
  for (const segment of segments) bytes += segment.count * DTYPE_BYTES[segment.tensor.outputDType];
  return bytes;
}

function windowInputBytes(segments: readonly Segment[]): number {
  let bytes = 0;
  for (const segment of segments) bytes += segment.count * DTYPE_BYTES[segment.tensor.inputDType];
  return bytes;
}
