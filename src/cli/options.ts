/** Parsing of option values shared by several commands; errors name the flag. */
import { MAX_THREADS } from '../blend/thread-count.js';
import { UsageError } from '../errors.js';

export function parseTimeOption(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new UsageError(`--time ${JSON.stringify(text)} must be a positive number (in the snapshots' time unit)`);
  }
  return value;
}

export function parsePositiveInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value <= 0) {
    throw new UsageError(`${flag} ${JSON.stringify(text)} must be a positive whole number`);
  }
  return value;
}

/** Environment variable giving the blend's thread count when --threads is not given. */
export const THREADS_ENV = 'EMA_SYNTH_THREADS';

/**
 * The most threads a blend may use: --threads, else EMA_SYNTH_THREADS, else undefined (the engine's
 * default: one per core, at most 16). Either way the engine uses fewer for a small job.
 */
export function parseThreads(flag: string | undefined, env: Readonly<Record<string, string | undefined>>): number | undefined {
  const [name, text] = flag !== undefined ? ['--threads', flag] : [THREADS_ENV, env[THREADS_ENV]];
  if (text === undefined || (name === THREADS_ENV && text.trim() === '')) return undefined;
  const threads = parsePositiveInteger(name, text);
  if (threads > MAX_THREADS) throw new UsageError(`${name} ${threads} is more than ${MAX_THREADS} threads`, 'each thread costs 10 MB of memory or more; one per core is the most that helps');
  return threads;
}
