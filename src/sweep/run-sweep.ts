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
import { isTargetDone, latestByTarget, SweepResultsStore, type SweepRecord } from './results-store.js';
import { targetKey } from './sigma-rel-key.js';
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
}

export async function runSweep(settings: SweepSettings, evaluator: Evaluator | undefined, hooks: { signal?: AbortSignal; onEvent?: (event: SweepEvent) => void } = {}): Promise<SweepOutcome> {
  const emit = hooks.onEvent ?? (() => undefined);
  const set = await discoverSnapshots(settings.dir, settings.discovery);
  for (const message of set.notes) emit({ type: 'note', message });
  const sparse = sparseUpdateWarning(set, settings.convention, settings.updateEvery);
  if (sparse !== undefined) emit({ type: 'note', message: sparse });
  const gridPlan = planReconstruction(set, settings.targets, settings.time, settings.convention);
  const time = gridPlan.time;
  // The same warnings as reconstruct's: a poorly fitted target's metric is that of another average.
  for (const summary of gridPlan.summaries) for (const message of fitWarnings(gridPlan, summary)) emit({ type: 'note', message });
  const opened = settings.outDir === undefined ? undefined : await SweepResultsStore.open(settings.outDir);
  for (const message of opened?.warnings ?? []) emit({ type: 'note', message });
  const context: SweepContext = { settings, set, time, evaluator, store: opened?.store, records: [...(opened?.records ?? [])], passes: [], signal: hooks.signal, emit };
  try {
    await runTargets(context, settings.targets, 'grid');
    // A rerun continues the refinement where it stopped: steps already recorded count (failed ones
    // are retried, as grid targets are), so rerunning a finished sweep adds nothing.
    const earlier = recordsAt(context).filter((r) => r.phase === 'refine');
    const retry = earlier.filter((r) => r.status !== 'ok').map((r) => ({ sigmaRel: r.sigma_rel, gamma: sigmaRelToGamma(r.sigma_rel), givenAs: 'sigma_rel' as const }));
    if (retry.length > 0) await runTargets(context, retry, 'refine');
    for (let step = earlier.length + 1; step <= settings.refine; step++) {
      const points = recordsAt(context).map((r) => ({ sigmaRel: r.sigma_rel, metric: r.status === 'ok' ? r.metric ?? undefined : undefined }));
      const proposal = nextRefinementPoint(points, { maximize: settings.maximize });
      if (proposal === undefined) break; // converged: nothing left worth evaluating
      emit({ type: 'refine', step, sigmaRel: proposal.sigmaRel, method: proposal.method });
      const refinePlan = planReconstruction(set, [{ sigmaRel: proposal.sigmaRel, gamma: sigmaRelToGamma(proposal.sigmaRel), givenAs: 'sigma_rel' }], time, settings.convention);
      for (const message of fitWarnings(refinePlan, refinePlan.summaries[0])) emit({ type: 'note', message });
      await runTargets(context, [{ sigmaRel: proposal.sigmaRel, gamma: sigmaRelToGamma(proposal.sigmaRel), givenAs: 'sigma_rel' }], 'refine');
    }
  } finally {
    await opened?.store.close();
  }
  const finalReport = collectSweepReport(recordsAt(context), {
    maximize: settings.maximize,
    fitErrorAt: (sigmaRel, at) => planReconstruction(set, [{ sigmaRel, gamma: sigmaRelToGamma(sigmaRel), givenAs: 'sigma_rel' }], at, settings.convention).summaries[0].fitError,
  });
  const removed = checkpointsToRemove(finalReport, settings.keep);
  await Promise.all(removed.map((path) => rm(path, { force: true })));
  const report = removed.length === 0 ? finalReport : {
    ...finalReport,
    targets: finalReport.targets.map((t) => (t.checkpoint !== null && removed.includes(t.checkpoint) ? { ...t, checkpoint: null } : t)),
  };
  return { report, time, timeUnit: set.timeUnit, passes: context.passes, snapshotBytes: passBytes(gridPlan), removed };
}

/** This sweep's records: those at its time (a results file may hold other times from other runs). */
function recordsAt(context: SweepContext): SweepRecord[] {
  return [...latestByTarget(context.records).values()].filter((r) => r.time === context.time);
}

async function runTargets(context: SweepContext, targets: readonly Target[], phase: 'grid' | 'refine'): Promise<void> {
  const { settings } = context;
  const plan = planReconstruction(context.set, targets, context.time, settings.convention);
  const done = latestByTarget(context.records);
  const needsMetric = context.evaluator !== undefined;
  const pending = plan.summaries.map((summary, j) => ({ summary, target: targets[j] }))
    .filter(({ summary }) => !isTargetDone(done.get(targetKey(summary.sigmaRel, summary.time)), needsMetric));
  if (pending.length === 0) return;
  if (settings.outDir === undefined || (settings.keep === 'none' && context.evaluator === undefined)) {
    // A fit-error-only sweep: nothing to write, nothing to read.
    for (const { summary } of pending) await record(context, summary, phase, { checkpoint: null, metric: null, status: 'ok', reason: null });
    return;
  }
  const paths = pending.map(({ summary, target }) => join(settings.outDir!, defaultOutputName(target, summary.time)));
  const reusable = await Promise.all(pending.map(({ summary }, j) => isReusableCheckpoint(paths[j], summary.sigmaRel, summary.time)));
  const toBuild = pending.map((p, j) => ({ ...p, path: paths[j] })).filter((_, j) => !reusable[j]);
  if (toBuild.length > 0) await reconstructPass(context, toBuild.map((b) => b.target), toBuild.map((b) => b.path), phase);
  if (context.evaluator === undefined) {
    for (const [j, { summary }] of pending.entries()) await record(context, summary, phase, { checkpoint: paths[j], metric: null, status: 'ok', reason: null });
    return;
  }
  await evaluatePending(context, pending.map(({ summary }, j) => ({ summary, path: paths[j] })), phase);
}

async function reconstructPass(context: SweepContext, targets: readonly Target[], paths: readonly string[], phase: 'grid' | 'refine'): Promise<void> {
  const plan = planReconstruction(context.set, targets, context.time, context.settings.convention);
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
  const entry: SweepRecord = { sigma_rel: summary.sigmaRel, gamma: summary.gamma, time: summary.time, fit_error: summary.fitError, ...outcome, phase };
  context.records.push(entry);
  await context.store?.append(entry);
}

export function requireOutDir(outDir: string | undefined, why: string): string {
  if (outDir === undefined) throw new UsageError(`--out-dir is needed ${why}`, 'e.g. --out-dir sweep-out (results are kept in sweep-out/sweep.jsonl, so a rerun resumes)');
  return outDir;
}
