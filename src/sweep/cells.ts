/**
 * A cell is one (sigma_rel, time) target of the sweep. With `--repeat R` it is evaluated R times
 * (seeds 0..R-1), each run one line of sweep.jsonl; this module folds those lines into one summary
 * per cell: the mean over its successful repeats and the standard error, the latest line's
 * checkpoint and phase. Lines without a seed (older files, --repeat 1) are seed 0, so an old
 * sweep.jsonl folds into the same cells it always meant. Pure.
 */
import { meanAndStandardError, type MeanEstimate } from './repeat-stats.js';
import { recordKey, type SweepRecord } from './results-store.js';

export interface Cell {
  readonly key: string;
  /** Latest line of each seed. */
  readonly seeds: ReadonlyMap<number, SweepRecord>;
  /** Latest line of any seed. */
  readonly latest: SweepRecord;
}

/** A cell as reported: a record whose metric is the mean over the repeats. */
export interface CellSummary extends SweepRecord {
  /** Standard error of the mean; present when repeats were asked for, null with one value. */
  readonly metric_se?: number | null;
  /** Successful repeats averaged; present when repeats were asked for. */
  readonly repeats?: number;
}

export function cellsOf(records: readonly SweepRecord[]): Map<string, Cell> {
  const seeds = new Map<string, Map<number, SweepRecord>>();
  const latest = new Map<string, SweepRecord>();
  for (const record of records) {
    const key = recordKey(record);
    if (!seeds.has(key)) seeds.set(key, new Map());
    seeds.get(key)!.set(record.seed ?? 0, record);
    latest.set(key, record);
  }
  return new Map([...seeds].map(([key, bySeed]) => [key, { key, seeds: bySeed, latest: latest.get(key)! }]));
}

const succeeded = (r: SweepRecord): boolean => r.status === 'ok' && r.metric !== null;

/** Seeds below `repeat` that have no successful evaluation yet. */
export function missingSeeds(cell: Cell | undefined, repeat: number): number[] {
  return Array.from({ length: repeat }, (_, seed) => seed).filter((seed) => {
    const record = cell?.seeds.get(seed);
    return record === undefined || !succeeded(record);
  });
}

/** The mean of the successful repeats; undefined when none succeeded. */
export function cellEstimate(cell: Cell): MeanEstimate | undefined {
  const values = [...cell.seeds.values()].filter(succeeded).map((r) => r.metric!);
  return values.length === 0 ? undefined : meanAndStandardError(values);
}

/**
 * One record per cell for reports, refinement and the choice of the best. `withRepeats` adds the
 * standard error and the count (the report's noisy-metric columns); without it, a cell of one line
 * is that line unchanged, so a --repeat 1 report is what it always was.
 */
export function summarizeCell(cell: Cell, withRepeats: boolean): CellSummary {
  const estimate = cellEstimate(cell);
  const base = cell.latest;
  const { seed: _seed, attempts: _attempts, stderr_tail: tail, ...rest } = base;
  if (estimate === undefined) {
    // Nothing succeeded: the latest failure explains why (or a fit-error-only line, as it is).
    const failed = { ...rest, ...(tail === undefined ? {} : { stderr_tail: tail }) };
    return withRepeats && base.status === 'failed' ? { ...failed, repeats: 0, metric_se: null } : failed;
  }
  const ok = [...cell.seeds.values()].filter(succeeded);
  // A failed repeat does not fail the cell: its mean is over the repeats that succeeded (the count says how many).
  return {
    ...rest,
    metric: estimate.mean,
    status: 'ok',
    reason: null,
    ...(averageNamed(ok) ?? {}),
    ...(withRepeats ? { metric_se: estimate.se, repeats: estimate.n } : {}),
  };
}

/** Mean of each named metric over the repeats that printed it. */
function averageNamed(records: readonly SweepRecord[]): { metrics: Record<string, number> } | undefined {
  const sums = new Map<string, number[]>();
  for (const r of records) for (const [name, value] of Object.entries(r.metrics ?? {})) sums.set(name, [...(sums.get(name) ?? []), value]);
  if (sums.size === 0) return undefined;
  return { metrics: Object.fromEntries([...sums].map(([name, values]) => [name, values.reduce((a, b) => a + b, 0) / values.length])) };
}

/** Summaries of every cell; `withRepeats` as for summarizeCell. */
export function summarizeCells(records: readonly SweepRecord[], withRepeats: boolean): CellSummary[] {
  return [...cellsOf(records).values()].map((cell) => summarizeCell(cell, withRepeats));
}

/** The best summary by metric (lower, or higher with maximize); undefined when none has one. */
export function bestOf<T extends { readonly status: string; readonly metric: number | null }>(summaries: readonly T[], maximize: boolean): T | undefined {
  let best: T | undefined;
  for (const s of summaries) {
    if (s.status !== 'ok' || s.metric === null) continue;
    if (best === undefined || (maximize ? s.metric > best.metric! : s.metric < best.metric!)) best = s;
  }
  return best;
}
