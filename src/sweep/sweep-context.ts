/** What the parts of one sweep run share: settings, snapshots, results so far, and how to record. */
import type { TargetSummary } from '../reconstruct/plan.js';
import type { SnapshotSet } from '../snapshots/discover.js';
import { bestOf, summarizeCells } from './cells.js';
import type { EvalEvent, EvalResult, EvalTask } from './eval-runner.js';
import { recordKey, type SweepResultsStore, type SweepRecord } from './results-store.js';
import { sweepAxisFields } from './sweep-axis.js';
import type { PassRecord, SweepEvent, SweepSettings } from './sweep-settings.js';

/** Scores checkpoints; resolves with one result per task, in order, reporting each as it finishes. */
export type Evaluator = (tasks: readonly EvalTask[], hooks: { signal?: AbortSignal; onEvent: (event: EvalEvent) => void }) => Promise<EvalResult[]>;

export interface SweepContext {
  readonly settings: SweepSettings;
  readonly set: SnapshotSet;
  readonly evaluator: Evaluator | undefined;
  readonly store: SweepResultsStore | undefined;
  /** Every record: the earlier runs' and this run's, in order. */
  readonly records: SweepRecord[];
  readonly passes: PassRecord[];
  /** Checkpoints deleted during the run to keep the disk bounded. */
  readonly removed: Set<string>;
  /** The times this sweep covers (a results file may hold other times from other runs). */
  readonly times: readonly number[];
  /** The kind and axis of this sweep's records (kind undefined for sigma_rel). */
  readonly axis: Pick<SweepRecord, 'kind' | 'value' | 'axis'>;
  readonly signal?: AbortSignal;
  readonly emit: (event: SweepEvent) => void;
}

/** A cell to work on: its target (for the file name) and its solve at its time. */
export interface CellWork {
  readonly target: import('../reconstruct/targets.js').Target;
  readonly summary: TargetSummary;
}

export type RecordOutcome = Pick<SweepRecord, 'checkpoint' | 'metric' | 'status' | 'reason' | 'stderr_tail' | 'seed' | 'metrics' | 'attempts'>;

export async function record(context: SweepContext, summary: TargetSummary, phase: 'grid' | 'refine', outcome: RecordOutcome): Promise<void> {
  const entry: SweepRecord = {
    sigma_rel: summary.sigmaRel, gamma: summary.gamma, time: summary.time, fit_error: summary.fitError, ...outcome, phase,
    ...sweepAxisFields(summary, context.set.timeUnit),
  };
  context.records.push(entry);
  await context.store?.append(entry);
}

/** This sweep's records: those at its times and on its axis (a results file may hold other runs'). */
export function sweepRecords(context: SweepContext): SweepRecord[] {
  const times = new Set(context.times.map(timeKey));
  return context.records.filter((r) => times.has(timeKey(r.time)) && r.kind === context.axis.kind && r.axis === context.axis.axis);
}

/** The key of a cell's records (recordKey), from its solve. */
export function cellKey(context: SweepContext, summary: TargetSummary): string {
  return recordKey({ sigma_rel: summary.sigmaRel, time: summary.time, ...sweepAxisFields(summary, context.set.timeUnit) });
}

/** Options every solve of this sweep passes to planReconstruction. */
export function planOptionsOf(context: SweepContext): { updateEvery: number | undefined } {
  return { updateEvery: context.settings.givenUpdateEvery };
}

const timeKey = (time: number): number => Number(time.toPrecision(12));

/** Whether the report should show repeat statistics: asked for now, or recorded by an earlier run. */
export function usesRepeats(context: SweepContext): boolean {
  return context.settings.repeat > 1 || sweepRecords(context).some((r) => r.seed !== undefined);
}

/** The best cell so far over every time (by mean metric). */
export function bestSoFar(context: SweepContext) {
  return bestOf(summarizeCells(sweepRecords(context), usesRepeats(context)), context.settings.maximize);
}
