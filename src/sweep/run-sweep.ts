/**
 * The sweep: reconstruct every grid target in one pass over the snapshots, evaluate each checkpoint,
 * optionally refine around the best, and decide which checkpoints to keep only at the very end.
 * Results are appended to <out-dir>/sweep.jsonl as each target finishes, so a rerun resumes.
 * Never prints: progress leaves as events; the command renders them and the report.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { sigmaRelToGamma } from '../phema/profile.js';
import { defaultOutputName } from '../reconstruct/output-metadata.js';
import { fitWarnings } from '../reconstruct/fit-warnings.js';
import { planReconstruction, type TargetSummary } from '../reconstruct/plan.js';
import type { Target } from '../reconstruct/targets.js';
import { checkOutputs, passBytes, writeReconstructions } from '../reconstruct/write-reconstructions.js';
import { discoverSnapshots, type SnapshotSet } from '../snapshots/discover.js';
import { sparseUpdateWarning } from '../snapshots/sparse-update-warning.js';
import { isReusableCheckpoint } from './checkpoint-reuse.js';
import type { EvalEvent, EvalResult, EvalTask } from './eval-runner.js';
import { checkpointsToRemove } from './keep-policy.js';
import { nextRefinementPoint } from './refine.js';
import { collectSweepReport, type SweepReport } from './report.js';
import { isTargetDone, latestByTarget, recordKey, SweepResultsStore, type SweepRecord } from './results-store.js';
import { sweepAxisFields, targetAt } from './sweep-axis.js';
import type { PassRecord, SweepEvent, SweepSettings } from './sweep-settings.js';

/** Scores checkpoints; resolves with one result per task, in order, reporting each as it finishes. */
export type Evaluator = (tasks: readonly EvalTask[], hooks: { signal?: AbortSignal; onEvent: (event: EvalEvent) => void }) => Promise<EvalResult[]>;

export interface SweepOutcome {
  readonly report: SweepReport;
  readonly time: number;
  readonly timeUnit: string | undefined;
  readonly passes: readonly PassRecord[];
  /** What one full pass over the snapshots used reads (float tensors of each, counters once). */
  readonly snapshotBytes: number;
  readonly removed: readonly string[];
}

interface SweepContext {
  readonly settings: SweepSettings;
  readonly set: SnapshotSet;
  readonly time: number;
  readonly evaluator: Evaluator | undefined;
  readonly store: SweepResultsStore | undefined;
  readonly records: SweepRecord[];
  readonly passes: PassRecord[];
  readonly signal?: AbortSignal;
  readonly emit: (event: SweepEvent) => void;
  /** The kind and axis of this sweep's records (both undefined for sigma_rel). */
  readonly axis: Pick<SweepRecord, 'kind' | 'axis'>;
}

const powerTarget = (sigmaRel: number): Target => ({ kind: 'power', sigmaRel, gamma: sigmaRelToGamma(sigmaRel), givenAs: 'sigma_rel' });

export async function runSweep(settings: SweepSettings, evaluator: Evaluator | undefined, hooks: { signal?: AbortSignal; onEvent?: (event: SweepEvent) => void } = {}): Promise<SweepOutcome> {
  const emit = hooks.onEvent ?? (() => undefined);
  const set = await discoverSnapshots(settings.dir, settings.discovery);
  for (const message of set.notes) emit({ type: 'note', message });
  const sparse = sparseUpdateWarning(set, settings.convention, settings.givenUpdateEvery);
  if (sparse !== undefined) emit({ type: 'note', message: sparse });
  const planOptions = { updateEvery: settings.givenUpdateEvery };
  const gridPlan = planReconstruction(set, settings.targets, settings.time, settings.convention, planOptions);
  const time = gridPlan.time;
  // The same warnings as reconstruct's: a poorly fitted target's metric is that of another average.
  for (const summary of gridPlan.summaries) for (const message of fitWarnings(gridPlan, summary)) emit({ type: 'note', message });
  const opened = settings.outDir === undefined ? undefined : await SweepResultsStore.open(settings.outDir);
  for (const message of opened?.warnings ?? []) emit({ type: 'note', message });
  const { kind, axis } = sweepAxisFields(gridPlan.summaries[0], set.timeUnit);
  const context: SweepContext = {
    settings, set, time, evaluator, store: opened?.store, records: [...(opened?.records ?? [])], passes: [], signal: hooks.signal, emit, axis: { kind, axis },
  };
  try {
    await runTargets(context, settings.targets, 'grid');
    // A rerun continues the refinement where it stopped: steps already recorded count (failed ones
    // are retried, as grid targets are), so rerunning a finished sweep adds nothing.
    const earlier = recordsAt(context).filter((r) => r.phase === 'refine');
    const retry = earlier.filter((r) => r.status !== 'ok').map((r) => powerTarget(r.sigma_rel));
    if (retry.length > 0) await runTargets(context, retry, 'refine');
    for (let step = earlier.length + 1; step <= settings.refine; step++) {
      const points = recordsAt(context).map((r) => ({ sigmaRel: r.sigma_rel, metric: r.status === 'ok' ? r.metric ?? undefined : undefined }));
      const proposal = nextRefinementPoint(points, { maximize: settings.maximize });
      if (proposal === undefined) break; // converged: nothing left worth evaluating
      emit({ type: 'refine', step, sigmaRel: proposal.sigmaRel, method: proposal.method });
      const refinePlan = planReconstruction(set, [powerTarget(proposal.sigmaRel)], time, settings.convention, planOptions);
      for (const message of fitWarnings(refinePlan, refinePlan.summaries[0])) emit({ type: 'note', message });
      await runTargets(context, [powerTarget(proposal.sigmaRel)], 'refine');
    }
  } finally {
    await opened?.store.close();
  }
  const finalReport = collectSweepReport(recordsAt(context), {
    maximize: settings.maximize,
    // One grid step beyond the edge, of the sweep's kind; a step that is no valid target has no fit error.
    fitErrorAt: (value, at) => {
      const target = targetAt(settings.targets[0], value);
      if (target === undefined) return undefined;
      try {
        return planReconstruction(set, [target], at, settings.convention, planOptions).summaries[0].fitError;
      } catch (error) {
        if (error instanceof UsageError) return undefined; // e.g. a window longer than the run
        throw error;
      }
    },
  });
  const removed = checkpointsToRemove(finalReport, settings.keep);
  await Promise.all(removed.map((path) => rm(path, { force: true })));
  const report = removed.length === 0 ? finalReport : {
    ...finalReport,
    targets: finalReport.targets.map((t) => (t.checkpoint !== null && removed.includes(t.checkpoint) ? { ...t, checkpoint: null } : t)),
  };
  return { report, time, timeUnit: set.timeUnit, passes: context.passes, snapshotBytes: passBytes(gridPlan), removed };
}

/** This sweep's records: those at its time and on its axis (a results file may hold other runs'). */
function recordsAt(context: SweepContext): SweepRecord[] {
  return [...latestByTarget(context.records).values()]
    .filter((r) => r.time === context.time && r.kind === context.axis.kind && r.axis === context.axis.axis);
}

async function runTargets(context: SweepContext, targets: readonly Target[], phase: 'grid' | 'refine'): Promise<void> {
  const { settings } = context;
  const plan = planReconstruction(context.set, targets, context.time, settings.convention, { updateEvery: settings.givenUpdateEvery });
  const done = latestByTarget(context.records);
  const needsMetric = context.evaluator !== undefined;
  const pending = plan.summaries.map((summary, j) => ({ summary, target: targets[j] }))
    .filter(({ summary }) => !isTargetDone(done.get(recordKey({ sigma_rel: summary.sigmaRel, time: summary.time, ...sweepAxisFields(summary, context.set.timeUnit) })), needsMetric));
  if (pending.length === 0) return;
  if (settings.outDir === undefined || (settings.keep === 'none' && context.evaluator === undefined)) {
    // A fit-error-only sweep: nothing to write, nothing to read.
    for (const { summary } of pending) await record(context, summary, phase, { checkpoint: null, metric: null, status: 'ok', reason: null });
    return;
  }
  const paths = pending.map(({ summary, target }) => join(settings.outDir!, defaultOutputName(target, summary.time)));
  const reusable = await Promise.all(pending.map(({ summary }, j) => isReusableCheckpoint(paths[j], summary)));
  const toBuild = pending.map((p, j) => ({ ...p, path: paths[j] })).filter((_, j) => !reusable[j]);
  if (toBuild.length > 0) await reconstructPass(context, toBuild.map((b) => b.target), toBuild.map((b) => b.path), phase);
  if (context.evaluator === undefined) {
    for (const [j, { summary }] of pending.entries()) await record(context, summary, phase, { checkpoint: paths[j], metric: null, status: 'ok', reason: null });
    return;
  }
  await evaluatePending(context, pending.map(({ summary }, j) => ({ summary, path: paths[j] })), phase);
}

async function reconstructPass(context: SweepContext, targets: readonly Target[], paths: readonly string[], phase: 'grid' | 'refine'): Promise<void> {
  const plan = planReconstruction(context.set, targets, context.time, context.settings.convention, { updateEvery: context.settings.givenUpdateEvery });
  await checkOutputs(plan, paths, context.settings.force);
  context.emit({ type: 'pass-start', targets: targets.length, totalBytes: passBytes(plan), phase });
  const { bytesRead } = await writeReconstructions(plan, paths, {
    dtype: context.settings.dtype,
    force: context.settings.force,
    allowNonFinite: context.settings.allowNonFinite,
    threads: context.settings.threads,
    onProgress: (bytes) => context.emit({ type: 'pass-progress', bytesRead: bytes }),
    signal: context.signal,
  });
  context.passes.push({ phase, targets: targets.length, bytes_read: bytesRead });
  context.emit({ type: 'pass-end', bytesRead });
}

async function evaluatePending(context: SweepContext, items: ReadonlyArray<{ summary: TargetSummary; path: string }>, phase: 'grid' | 'refine'): Promise<void> {
  const tasks = items.map(({ summary, path }) => ({ file: path, sigmaRel: summary.sigmaRel, gamma: summary.gamma, time: summary.time }));
  // Records are appended in completion order, one at a time, as each evaluation finishes.
  let appending = Promise.resolve();
  await context.evaluator!(tasks, {
    signal: context.signal,
    onEvent: (event) => {
      context.emit({ type: 'eval', event });
      if (event.type !== 'finished') return;
      const { summary, path } = items[event.index];
      const result = event.result;
      appending = appending.then(() => record(context, summary, phase, result.status === 'ok'
        ? { checkpoint: path, metric: result.metric, status: 'ok', reason: null }
        : { checkpoint: path, metric: null, status: 'failed', reason: result.reason, stderr_tail: result.stderrTail }));
    },
  }).finally(() => appending);
  await appending;
}

async function record(context: SweepContext, summary: TargetSummary, phase: 'grid' | 'refine',
  outcome: Pick<SweepRecord, 'checkpoint' | 'metric' | 'status' | 'reason' | 'stderr_tail'>): Promise<void> {
  const entry: SweepRecord = {
    sigma_rel: summary.sigmaRel, gamma: summary.gamma, time: summary.time, fit_error: summary.fitError, ...outcome, phase,
    ...sweepAxisFields(summary, context.set.timeUnit),
  };
  context.records.push(entry);
  await context.store?.append(entry);
}

export function requireOutDir(outDir: string | undefined, why: string): string {
  if (outDir === undefined) throw new UsageError(`--out-dir is needed ${why}`, 'e.g. --out-dir sweep-out (results are kept in sweep-out/sweep.jsonl, so a rerun resumes)');
  return outDir;
}
