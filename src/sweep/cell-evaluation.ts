/**
 * Evaluating a group of reconstructed cells: `--repeat R` runs per checkpoint with {seed} =
 * 0..R-1, all through one evaluator call per round so `--jobs` keeps every slot busy. With
 * `--prune-margin m` there are two rounds: the first two repeats of every cell, then the rest only
 * for cells not already worse than the best by more than m standard errors. Each run is one line
 * of sweep.jsonl, appended as it finishes, so a resumed sweep runs only the repeats still missing.
 */
import { cellEstimate, cellsOf, missingSeeds } from './cells.js';
import type { EvalTask } from './eval-runner.js';
import { isHopeless } from './repeat-stats.js';
import { recordKey } from './results-store.js';
import { bestSoFar, cellKey, record, sweepRecords, type CellWork, type SweepContext } from './sweep-context.js';

export interface CellItem {
  readonly work: CellWork;
  readonly path: string;
}

/** Repeats in the first round when pruning: the fewest that give a standard error. */
const FIRST_ROUND = 2;

export async function evaluateCells(context: SweepContext, items: readonly CellItem[], phase: 'grid' | 'refine'): Promise<void> {
  const { repeat, pruneMargin } = context.settings;
  const first = pruneMargin === undefined ? repeat : Math.min(FIRST_ROUND, repeat);
  await evaluateRound(context, items, phase, first);
  if (first < repeat) await evaluateRound(context, items.filter((item) => !isPruned(context, item.work)), phase, repeat);
}

/**
 * Whether a cell needs no more work: every repeat succeeded, or (with --prune-margin) its first
 * repeats already put it out of the running. Failed runs are retried on resume, as grid targets always were.
 */
export function isCellDone(context: SweepContext, work: CellWork): boolean {
  const cell = cellsOf(sweepRecords(context)).get(cellKey(context, work.summary));
  if (context.evaluator === undefined) return cell !== undefined && cell.latest.status === 'ok';
  if (missingSeeds(cell, context.settings.repeat).length === 0) return true;
  return isPruned(context, work);
}

/** A cell whose first repeats are done and whose mean is hopeless against the best so far. */
export function isPruned(context: SweepContext, work: CellWork): boolean {
  const { pruneMargin, repeat, maximize } = context.settings;
  if (pruneMargin === undefined) return false;
  const key = cellKey(context, work.summary);
  const cell = cellsOf(sweepRecords(context)).get(key);
  if (cell === undefined || missingSeeds(cell, Math.min(FIRST_ROUND, repeat)).length > 0) return false;
  const best = bestSoFar(context);
  if (best === undefined || recordKey(best) === key) return false;
  const bestCell = cellsOf(sweepRecords(context)).get(recordKey(best));
  const mine = cellEstimate(cell);
  const theirs = bestCell === undefined ? undefined : cellEstimate(bestCell);
  return mine !== undefined && theirs !== undefined && isHopeless(mine, theirs, pruneMargin, maximize);
}

async function evaluateRound(context: SweepContext, items: readonly CellItem[], phase: 'grid' | 'refine', upTo: number): Promise<void> {
  const cells = cellsOf(sweepRecords(context));
  const withSeed = context.settings.repeat > 1;
  const runs = items.flatMap((item) => missingSeeds(cells.get(cellKey(context, item.work.summary)), upTo)
    .map((seed) => ({ item, seed })));
  if (runs.length === 0) return;
  const tasks: EvalTask[] = runs.map(({ item: { work: { summary }, path }, seed }) => ({
    file: path, sigmaRel: summary.sigmaRel, gamma: summary.gamma, time: summary.time, ...(withSeed ? { seed } : {}),
  }));
  // Records are appended in completion order, one at a time, as each evaluation finishes.
  let appending = Promise.resolve();
  await context.evaluator!(tasks, {
    signal: context.signal,
    onEvent: (event) => {
      context.emit({ type: 'eval', event });
      if (event.type !== 'finished') return;
      const { item: { work, path }, seed } = runs[event.index];
      const result = event.result;
      const extra = { ...(withSeed ? { seed } : {}), ...(result.attempts !== undefined && result.attempts > 1 ? { attempts: result.attempts } : {}) };
      appending = appending.then(() => record(context, work.summary, phase, result.status === 'ok'
        ? { checkpoint: path, metric: result.metric, status: 'ok', reason: null, ...(result.metrics ? { metrics: result.metrics } : {}), ...extra }
        : { checkpoint: path, metric: null, status: 'failed', reason: result.reason, stderr_tail: result.stderrTail, ...extra }));
    },
  }).finally(() => appending);
  await appending;
}
