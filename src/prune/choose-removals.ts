/**
 * Which snapshots `prune` removes: greedy backward elimination (phema/backward-elimination.ts, a
 * heuristic) under the criterion, then the exact fit errors of what remains from the same solve
 * as `inspect` and `reconstruct`. If rounding in the greedy's running updates let a removal break
 * the bound, the latest removals are put back until the exact errors keep it. Headers only.
 */
import { eliminateGreedily } from '../phema/backward-elimination.js';
import type { Profile } from '../phema/inner-product.js';
import { solveCoefficients } from '../phema/solve.js';
import type { PowerTarget } from '../reconstruct/targets.js';
import type { Snapshot } from '../snapshots/discover.js';
import { allowedError, type PruneCriterion } from './prune-criterion.js';

export interface PruneChoice {
  readonly times: readonly number[];
  readonly targets: readonly PowerTarget[];
  /** Exact fit errors [time][target], before and after. */
  readonly before: readonly (readonly number[])[];
  readonly after: readonly (readonly number[])[];
  /** Highest fit error allowed [time][target] (increase criterion only). */
  readonly limits: readonly (readonly number[])[] | null;
  readonly removed: readonly Snapshot[];
  readonly kept: readonly Snapshot[];
  /** Removals the greedy chose that the exact check put back. */
  readonly putBack: number;
  /** With --keep or --budget: false when the goal could not be reached (the latest snapshots are always kept). */
  readonly goalReached: boolean;
}

/** Below this an allowance counts as none: a target the folder fits exactly must stay exact. */
const TINY_ALLOWANCE = 1e-15;

export function choosePrune(snapshots: readonly Snapshot[], targets: readonly PowerTarget[], times: readonly number[], criterion: PruneCriterion): PruneChoice {
  const gammas = targets.map((t) => t.gamma);
  const before = exactFits(snapshots, gammas, times);
  const latest = snapshots[snapshots.length - 1].time;
  const limits = criterion.kind === 'increase' ? before.map((row) => row.map((e) => allowedError(criterion.increase, e))) : null;
  const steps = eliminateGreedily({
    snapshots,
    targetGammas: gammas,
    times,
    // The snapshots at the latest time are the run's end state: never removed.
    removable: snapshots.map((s) => s.time < latest),
    allowance: limits === null ? before.map((row) => row.map(() => 1)) : limits.map((row, t) => row.map((limit, j) => Math.max(limit - before[t][j], TINY_ALLOWANCE))),
    maxScore: limits === null ? Number.POSITIVE_INFINITY : 1,
    enough: (removed) => goalReached(snapshots, removed, criterion),
  });
  let removedIndices = steps.map((s) => s.index);
  let after = exactFits(keptOf(snapshots, removedIndices), gammas, times);
  let putBack = 0;
  while (limits !== null && removedIndices.length > 0 && !within(after, limits)) {
    removedIndices = removedIndices.slice(0, -1);
    putBack++;
    after = exactFits(keptOf(snapshots, removedIndices), gammas, times);
  }
  const removedSet = new Set(removedIndices);
  return {
    times, targets, before, after, limits, putBack,
    removed: snapshots.filter((_, i) => removedSet.has(i)),
    kept: keptOf(snapshots, removedIndices),
    goalReached: goalReached(snapshots, removedIndices, criterion),
  };
}

/** Fit errors [time][target] at exactly each time, from the snapshots up to it (as `inspect --time`). */
export function exactFits(snapshots: readonly Profile[], gammas: readonly number[], times: readonly number[]): number[][] {
  return times.map((time) => {
    const used = snapshots.filter((s) => s.time <= time);
    return used.length === 0 ? gammas.map(() => Number.POSITIVE_INFINITY) : solveCoefficients(used, gammas, time).fitErrors;
  });
}

function keptOf<T>(snapshots: readonly T[], removed: readonly number[]): T[] {
  const gone = new Set(removed);
  return snapshots.filter((_, i) => !gone.has(i));
}

function within(errors: readonly (readonly number[])[], limits: readonly (readonly number[])[]): boolean {
  return errors.every((row, t) => row.every((e, j) => e <= limits[t][j]));
}

function goalReached(snapshots: readonly Snapshot[], removed: readonly number[], criterion: PruneCriterion): boolean {
  if (criterion.kind === 'increase') return false; // remove while the bound allows
  if (criterion.kind === 'keep') return snapshots.length - removed.length <= criterion.count;
  const freed = removed.reduce((sum, i) => sum + snapshots[i].bytes, 0);
  return snapshots.reduce((sum, s) => sum + s.bytes, 0) - freed <= criterion.bytes;
}
