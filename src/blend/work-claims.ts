/**
 * How the threads of a blend share one batch: every thread (the main one and each helper) claims
 * runs of blocks of the window from a shared counter until none are left, so a thread the OS runs
 * late, or not at all during the batch, simply takes less. Fixed shares made every batch wait for
 * its slowest thread: on 2 busy cores two threads ran slower than one.
 *
 * The control words live in the blend memory. The claim word holds the batch's sequence number
 * (high 32 bits) and the next unclaimed block (low 32 bits) in one 64-bit value, so a helper that
 * wakes after its batch is over finds another sequence number and claims nothing: it can never
 * work on a later batch with an earlier batch's addresses. Each thread adds the blocks it finished
 * to the done word; the batch is over when that equals the window's blocks, so the main thread
 * never waits for a reply from a helper that had nothing left to do.
 */
import { accumulateRange, type NonFiniteAt, type RangeWork } from './accumulate-range.js';
import { BLOCK, type BlendKernels } from './blend-kernels.js';

/** Bytes of control words for `threads` threads: claim (8), done (4, padded to 8), and per thread a found slot (8). */
export function controlBytes(threads: number): number {
  return 16 + 8 * threads;
}

/** One batch as every thread sees it: the work over the whole window, and where to claim it. */
export interface ClaimWork extends RangeWork {
  /** Byte address of the control words. */
  readonly control: number;
  readonly sequence: number;
  /** Blocks taken per claim. */
  readonly claimBlocks: number;
}

/** Views of the control words of a blend memory. */
export class WorkControl {
  private readonly claim: BigInt64Array;
  private readonly done: Int32Array;
  private readonly found: Int32Array;

  constructor(buffer: SharedArrayBuffer | ArrayBuffer, address: number, threads: number) {
    this.claim = new BigInt64Array(buffer, address, 1);
    this.done = new Int32Array(buffer, address + 8, 1);
    this.found = new Int32Array(buffer, address + 16, 2 * threads);
  }

  /** Opens batch `sequence` for claims (the main thread, once the previous batch is done). */
  open(sequence: number): void {
    this.found.fill(0);
    Atomics.store(this.done, 0, 0);
    Atomics.store(this.claim, 0, BigInt(sequence) << 32n);
  }

  /**
   * Claims and accumulates blocks of batch `work.sequence` until none are left (or the batch is
   * over). Records the first NaN/Inf this thread met in slot `thread`.
   */
  work(kernels: BlendKernels, memory: Float64Array, work: ClaimWork, scratch: number, thread: number): void {
    const blocks = Math.ceil(work.to / BLOCK);
    const sequence = BigInt(work.sequence);
    const step = BigInt(work.claimBlocks);
    for (;;) {
      const value = Atomics.load(this.claim, 0);
      if (value >> 32n !== sequence) return;
      const start = Number(value & 0xffffffffn);
      if (start >= blocks) return;
      if (Atomics.compareExchange(this.claim, 0, value, value + step) !== value) continue;
      const end = Math.min(blocks, start + work.claimBlocks);
      const found = accumulateRange(kernels, memory, { ...work, from: start * BLOCK, to: Math.min(work.to, end * BLOCK) }, scratch);
      if (found !== undefined) this.record(thread, found);
      Atomics.add(this.done, 0, end - start);
      Atomics.notify(this.done, 0);
    }
  }

  /** Resolves when every block of the window is done; rejects if `failure` does first. */
  async finished(blocks: number, failure: Promise<never>): Promise<void> {
    for (;;) {
      const done = Atomics.load(this.done, 0);
      if (done >= blocks) return;
      const wait = waitAsync(this.done, 0, done);
      if (wait.async) await Promise.race([wait.value, failure]);
    }
  }

  /** The first NaN/Inf in element order over all threads' slots (each keeps its earliest). */
  firstNonFinite(): NonFiniteAt | undefined {
    let first: NonFiniteAt | undefined;
    for (let slot = 0; slot < this.found.length; slot += 2) {
      if (this.found[slot] === 0) continue;
      const at = { element: this.found[slot] - 1, target: this.found[slot + 1] };
      if (first === undefined || at.element < first.element) first = at;
    }
    return first;
  }

  /**
   * Claims are disjoint runs of whole blocks and each reports its first block holding a NaN/Inf in
   * any target (accumulate-range.ts), so the lowest element over all claims is the one a single
   * thread would have reported.
   */
  private record(thread: number, at: NonFiniteAt): void {
    const slot = 2 * thread;
    if (this.found[slot] !== 0 && this.found[slot] - 1 <= at.element) return;
    this.found[slot] = at.element + 1;
    this.found[slot + 1] = at.target;
  }
}

/** Blocks per claim: small enough that every thread gets several claims per window, at most 8. */
export function claimBlocks(elements: number, threads: number): number {
  return Math.max(1, Math.min(8, Math.floor(Math.ceil(elements / BLOCK) / (4 * threads))));
}

/** Atomics.waitAsync (Node 16 and later; typed in lib ES2024, newer than this project's ES2022). */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync.bind(Atomics);
