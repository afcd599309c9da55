/**
 * How many threads accumulate a blend (work-claims.ts: how they share each batch).
 *
 * Each thread beyond the main one is a worker: about 10 MB of resident memory (its own V8 heap and
 * Node runtime; measured 9 to 10 MB each with 8 and 16 workers) plus its 64 KiB of decode scratch
 * in the blend memory. Beyond two threads the window grows too, so each thread keeps a share of
 * every batch large enough to pay for the batch's fixed costs (chunk-size.ts): up to 28 MiB more of
 * window buffers per thread, never more than 512 MiB in all. A K = 1 blend of F16 snapshots peaked
 * at 107 MB of RSS with 1 thread, 121 MB with 2, 167 MB with 4, 276 MB with 8 and 490 MB with 16.
 * The default stops at 16 threads; asking for more with --threads is allowed.
 */
import { availableParallelism } from 'node:os';
import { cgroupCpuQuota } from '../io/cpu-quota.js';

/** Most threads used unless more are asked for. */
export const DEFAULT_MAX_THREADS = 16;
/** Most threads anyone may ask for (a typo like --threads 10000 should not start ten thousand workers). */
export const MAX_THREADS = 256;
/**
 * Multiply-adds (elements x snapshots x targets) each thread needs for its start-up (tens of ms)
 * and per-batch messages to pay off: today's single-helper threshold of 2^26 for two threads.
 */
export const MIN_WORK_PER_THREAD = 1 << 25;

/**
 * The default: one thread per core the process may use (its affinity, and a control group's CPU
 * quota, which Node 20 does not count: cpu-quota.ts), at most DEFAULT_MAX_THREADS.
 */
export function defaultThreads(quota: number | undefined = cgroupCpuQuota()): number {
  return Math.max(1, Math.min(availableParallelism(), quota ?? Infinity, DEFAULT_MAX_THREADS));
}

/** `most` threads, fewer when the job is too small for each to get `minWorkPerThread` multiply-adds. */
export function threadsForWork(most: number, work: number, minWorkPerThread = MIN_WORK_PER_THREAD): number {
  if (!Number.isSafeInteger(most) || most < 1) throw new RangeError(`threads must be a positive whole number, not ${most}`);
  if (minWorkPerThread <= 0) return most;
  return Math.max(1, Math.min(most, Math.floor(work / minWorkPerThread)));
}
