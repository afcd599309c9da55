/**
 * Window size for a blend of K targets on T threads. Per element the engine holds K float64
 * accumulators, K encoded outputs (4 bytes for F32) and three batches of 8 raw reads (4 bytes each
 * for F32: one being accumulated, two being read), so the working set is about (12K + 96) bytes per
 * element. A fixed budget keeps memory flat in model size; the cap (2 MiB of F32 per snapshot read)
 * keeps K = 1 small while reads stay large enough for disk speed.
 *
 * Every batch has costs that do not shrink with its size: the main thread issues and collects eight
 * reads, wakes the helpers and waits for the last claim (on the 2-core VM, about 0.15 to 0.2 ms per
 * batch with one thread and 0.4 ms with two). They stay small while each thread's share of a batch
 * is large: two threads splitting windows of 512 Ki elements (F16, K = 1) ran at 1.06x of one,
 * splitting windows of 64 Ki at 0.88x (BENCHMARKS.md, "Window size and threads"). Sixteen threads on a
 * window of 512 Ki would each get the small share, so beyond two threads the window grows until each
 * thread again has the work two threads get from 512 Ki (256 Ki elements' worth with one target, less per
 * element with more targets, whose multiply-adds make each element dearer), within a budget that
 * grows by PER_THREAD_BUDGET_BYTES per thread up to MAX_BUDGET_BYTES.
 */
const BUDGET_BYTES = 96 * 1024 * 1024;
const MAX_ELEMENTS = 512 * 1024;
const MIN_ELEMENTS = 16 * 1024;
/** Threads sharing a window of MAX_ELEMENTS (the most the engine used before it split N ways). */
const BASE_THREADS = 2;
/** Each thread's share of a batch, in elements of one-target work: (K + 1) x elements / 2. */
const SHARE_WORK = MAX_ELEMENTS / BASE_THREADS;
/** The most each thread beyond BASE_THREADS may add to the window's buffers. */
export const PER_THREAD_BUDGET_BYTES = 28 * 1024 * 1024;
/** The window's buffers never take more than this, however many threads (16 threads, K = 1, F32: 432 MiB). */
export const MAX_BUDGET_BYTES = 512 * 1024 * 1024;

export function chunkElementsFor(targets: number, threads = 1): number {
  const perElement = 12 * Math.max(1, targets) + 96;
  const base = Math.max(MIN_ELEMENTS, Math.min(MAX_ELEMENTS, Math.floor(BUDGET_BYTES / perElement)));
  const extra = Math.max(0, threads - BASE_THREADS);
  if (extra === 0) return base;
  const shares = Math.floor((threads * 2 * SHARE_WORK) / (Math.max(1, targets) + 1));
  const budget = Math.floor(Math.min(MAX_BUDGET_BYTES, BUDGET_BYTES + extra * PER_THREAD_BUDGET_BYTES) / perElement);
  return Math.max(base, Math.min(shares, budget));
}
