/**
 * The sweep: reconstruct every (length, time) cell of the grid, in groups of one pass each
 * (cell-groups.ts), evaluate each checkpoint (cell-evaluation.ts), optionally refine around the
 * best length at each time, and decide which checkpoints to keep at the very end. Results are
 * appended to <out-dir>/sweep.jsonl as each evaluation finishes, so a rerun resumes; a lock file
 * keeps a second sweep out of the same folder. Never prints: progress leaves as events; the command
 * renders them and the report.
 */
import { mkdir, rm } from 'node:fs/promises';
import { OutputError, UsageError } from '../errors.js';
import { fitWarnings } from '../reconstruct/fit-warnings.js';
import { planReconstruction } from '../reconstruct/plan.js';
import { passBytes } from '../reconstruct/write-reconstructions.js';
import { discoverSnapshots } from '../snapshots/discover.js';
import { sparseUpdateWarning } from '../snapshots/sparse-update-warning.js';
import { summarizeCells } from './cells.js';
import { runCells } from './cell-groups.js';
import { checkpointsToRemove } from './keep-policy.js';
import { refineEachTime } from './refine-steps.js';
import { collectSweepReport, type SweepReport } from './report.js';
import { SweepResultsStore } from './results-store.js';
import { sweepRecords, usesRepeats, type Evaluator, type SweepContext } from './sweep-context.js';
import { sweepAxisFields, targetAt } from './sweep-axis.js';
import { acquireSweepLock } from './sweep-lock.js';
import type { PassRecord, SweepEvent, SweepSettings } from './sweep-settings.js';
import { resolveTimes } from './time-grid.js';

export type { Evaluator } from './sweep-context.js';

export interface SweepOutcome {
  readonly report: SweepReport;
  /** The latest time swept (the only one without --time LIST). */
  readonly time: number;
  readonly times: readonly number[];
  readonly timeUnit: string | undefined;
  readonly passes: readonly PassRecord[];
  /** What one full pass over the snapshots used reads (float tensors of each, counters once). */
  readonly snapshotBytes: number;
  readonly removed: readonly string[];
}

export async function runSweep(settings: SweepSettings, evaluator: Evaluator | undefined, hooks: { signal?: AbortSignal; onEvent?: (event: SweepEvent) => void } = {}): Promise<SweepOutcome> {
  const emit = hooks.onEvent ?? (() => undefined);
  const set = await discoverSnapshots(settings.dir, settings.discovery);
  for (const message of set.notes) emit({ type: 'note', message });
  const sparse = sparseUpdateWarning(set, settings.convention, settings.givenUpdateEvery);
  if (sparse !== undefined) emit({ type: 'note', message: sparse });
  const times = resolveTimes(settings.times, set.snapshots.map((s) => s.time));
  // Each time has its own solve, over the snapshots up to it (an out-of-range time fails here, before any writing).
  const planOptions = { updateEvery: settings.givenUpdateEvery };
  const plans = times.map((time) => planReconstruction(set, settings.targets, time, settings.convention, planOptions));
  // The same warnings as reconstruct's: a poorly fitted target's metric is that of another average.
  for (const plan of plans) for (const summary of plan.summaries) for (const message of fitWarnings(plan, summary)) emit({ type: 'note', message });
  const lock = settings.outDir === undefined ? undefined : await lockFolder(settings.outDir);
  if (lock?.note !== undefined) emit({ type: 'note', message: lock.note });
  let context: SweepContext;
  try {
    const opened = settings.outDir === undefined ? undefined : await SweepResultsStore.open(settings.outDir);
    for (const message of opened?.warnings ?? []) emit({ type: 'note', message });
    context = {
      settings, set, evaluator, store: opened?.store, records: [...(opened?.records ?? [])], passes: [], removed: new Set(),
      times, signal: hooks.signal, emit, axis: sweepAxisFields(plans[0].summaries[0], set.timeUnit),
    };
    try {
      const grid = plans.flatMap((plan) => plan.summaries.map((summary, j) => ({ target: settings.targets[j], summary })));
      await runCells(context, grid, 'grid');
      if (settings.refine > 0) await refineEachTime(context);
    } finally {
      await opened?.store.close();
    }
  } finally {
    await lock?.release();
  }
  const finalReport = collectSweepReport(summarizeCells(sweepRecords(context), usesRepeats(context)), {
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
  const removed = [...new Set([...checkpointsToRemove(finalReport, settings.keep), ...context.removed])];
  await Promise.all(removed.map((path) => rm(path, { force: true })));
  const gone = new Set(removed);
  const report = gone.size === 0 ? finalReport : {
    ...finalReport,
    targets: finalReport.targets.map((t) => (t.checkpoint !== null && gone.has(t.checkpoint) ? { ...t, checkpoint: null } : t)),
  };
  const latest = plans[plans.length - 1];
  return { report, time: latest.time, times, timeUnit: set.timeUnit, passes: context.passes, snapshotBytes: passBytes(latest), removed };
}

async function lockFolder(outDir: string) {
  try {
    await mkdir(outDir, { recursive: true });
  } catch (error) {
    throw new OutputError(`cannot create the output folder ${outDir}: ${(error as Error).message}`, undefined, error);
  }
  return acquireSweepLock(outDir);
}

export function requireOutDir(outDir: string | undefined, why: string): string {
  if (outDir === undefined) throw new UsageError(`--out-dir is needed ${why}`, 'e.g. --out-dir sweep-out (results are kept in sweep-out/sweep.jsonl, so a rerun resumes)');
  return outDir;
}
