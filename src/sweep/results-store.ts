import { mkdir, open, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { targetKey } from './sigma-rel-key.js';
import { inputError } from '../io/input-error.js';
import { outputError } from '../io/output-error.js';

/** A record's identity: sigma_rel and time, or kind and swept value and time for other targets. */
export function recordKey(record: Pick<SweepRecord, 'sigma_rel' | 'time' | 'kind' | 'value'>): string {
  return record.kind === undefined || record.value === undefined ? targetKey(record.sigma_rel, record.time) : `${record.kind}:${targetKey(record.value, record.time)}`;
}

/**
 * `<out-dir>/sweep.jsonl`: one JSON line per finished target, appended (and flushed to disk) as
 * each finishes, so a crash or Ctrl-C loses at most the target in flight and a rerun resumes.
 * Field names are snake_case: the same names as the `--json` report.
 */

export const SWEEP_RESULTS_FILE = 'sweep.jsonl';

export type TargetStatus = 'ok' | 'failed';

export interface SweepRecord {
  readonly sigma_rel: number;
  readonly gamma: number;
  readonly time: number;
  readonly fit_error: number | null;
  /** null when no evaluation ran or it failed. */
  readonly metric: number | null;
  /** null when no checkpoint was kept. */
  readonly checkpoint: string | null;
  readonly status: TargetStatus;
  /** Why it failed; null when ok. */
  readonly reason: string | null;
  readonly stderr_tail?: string;
  /** Grid target or refinement step. */
  readonly phase?: 'grid' | 'refine';
  /** Targets other than power profiles: their kind, the swept number as given, and its axis title. */
  readonly kind?: 'exponential' | 'window';
  readonly value?: number;
  readonly axis?: string;
  /** With --repeat: which repeat (0..R-1) this line is; absent means 0 (older files, --repeat 1). */
  readonly seed?: number;
  /** With --metric: every named metric the command printed. */
  readonly metrics?: Record<string, number>;
  /** Runs the evaluation took when it was retried (--retries). */
  readonly attempts?: number;
}

export interface LoadedResults {
  readonly records: SweepRecord[];
  /** Problems that were tolerated (a cut-off last line, unreadable lines), for the CLI to print. */
  readonly warnings: string[];
  /** Bytes up to the end of the last complete line: where appends must continue. */
  readonly completeBytes: number;
}

/** Reads a results file; a missing file is an empty sweep. Never modifies the file. */
export async function loadSweepResults(file: string): Promise<LoadedResults> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { records: [], warnings: [], completeBytes: 0 };
    throw inputError(file, 'cannot read', error);
  }
  const completeBytes = bytes.lastIndexOf(0x0a) + 1;
  const warnings: string[] = [];
  if (completeBytes < bytes.length) {
    warnings.push(
      `${file}: the last line was cut off (the previous run stopped while writing it); ` +
        'it is ignored and that target will be done again',
    );
  }
  const records: SweepRecord[] = [];
  const lines = bytes.subarray(0, completeBytes).toString('utf8').split('\n');
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const record = parseRecord(line);
    if (record === undefined) warnings.push(`${file}: line ${i + 1} is not a sweep record; it is ignored`);
    else records.push(record);
  });
  return { records, warnings, completeBytes };
}

function parseRecord(line: string): SweepRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const r = value as Record<string, unknown>;
  const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
  const orNull = <T>(x: unknown, ok: (x: unknown) => x is T): T | null => (ok(x) ? x : null);
  if (!finite(r.sigma_rel) || !finite(r.time) || (r.status !== 'ok' && r.status !== 'failed')) return undefined;
  return {
    sigma_rel: r.sigma_rel,
    gamma: finite(r.gamma) ? r.gamma : NaN,
    time: r.time,
    fit_error: orNull(r.fit_error, finite),
    metric: orNull(r.metric, finite),
    checkpoint: orNull(r.checkpoint, (x): x is string => typeof x === 'string'),
    status: r.status,
    reason: orNull(r.reason, (x): x is string => typeof x === 'string'),
    ...(typeof r.stderr_tail === 'string' ? { stderr_tail: r.stderr_tail } : {}),
    ...(r.phase === 'grid' || r.phase === 'refine' ? { phase: r.phase } : {}),
    ...((r.kind === 'exponential' || r.kind === 'window') && finite(r.value) && typeof r.axis === 'string' ? { kind: r.kind, value: r.value, axis: r.axis } : {}),
    ...(Number.isSafeInteger(r.seed) && (r.seed as number) >= 0 ? { seed: r.seed as number } : {}),
    ...(isNumberRecord(r.metrics) ? { metrics: r.metrics } : {}),
    ...(Number.isSafeInteger(r.attempts) ? { attempts: r.attempts as number } : {}),
  };
}

function isNumberRecord(x: unknown): x is Record<string, number> {
  return typeof x === 'object' && x !== null && !Array.isArray(x) && Object.values(x).every((v) => typeof v === 'number' && Number.isFinite(v));
}

/** The latest record of each target (a rerun's result replaces an earlier failure). */
export function latestByTarget<T extends SweepRecord>(records: readonly T[]): Map<string, T> {
  const latest = new Map<string, T>();
  for (const record of records) latest.set(recordKey(record), record);
  return latest;
}

/**
 * Whether a target needs no more work: it succeeded, and has a metric when one is asked for (a
 * fit-error-only run followed by a run with --eval-cmd must still evaluate). Failed targets are
 * tried again on resume: the cause (out of memory, a killed job) is often transient.
 */
export function isTargetDone(record: SweepRecord | undefined, needsMetric: boolean): boolean {
  return record !== undefined && record.status === 'ok' && (!needsMetric || record.metric !== null);
}

/** Appends records to `<out-dir>/sweep.jsonl`, each flushed to disk before append() resolves. */
export class SweepResultsStore {
  private constructor(readonly file: string, private readonly handle: FileHandle) {}

  /**
   * Loads what an earlier run left, cuts off a partial last line so new lines start clean, and opens
   * the file for appending. Creates the out-dir when needed.
   */
  static async open(outDir: string): Promise<{ store: SweepResultsStore } & LoadedResults> {
    const file = join(outDir, SWEEP_RESULTS_FILE);
    try {
      await mkdir(outDir, { recursive: true });
    } catch (error) {
      throw outputError(outDir, 'create the output folder', error);
    }
    const loaded = await loadSweepResults(file);
    let handle: FileHandle;
    try {
      handle = await open(file, 'a+');
      const { size } = await handle.stat();
      if (size > loaded.completeBytes) await handle.truncate(loaded.completeBytes);
    } catch (error) {
      throw outputError(file, 'open the results file for appending', error);
    }
    return { store: new SweepResultsStore(file, handle), ...loaded };
  }

  /** One line per record, written with one call and fdatasync'ed, so a crash cuts at most it. */
  async append(record: SweepRecord): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    try {
      await this.handle.write(line);
      await this.handle.datasync();
    } catch (error) {
      throw outputError(this.file, 'append to the results file', error);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
