/**
 * Plans a reconstruction: which snapshots a target time may use, the solve for all targets, and
 * the per-target summary users see. No I/O beyond what the snapshot set already read.
 */
import { UsageError } from '../errors.js';
import { solveCoefficients, type Solution } from '../phema/solve.js';
import type { Snapshot, SnapshotSet } from '../snapshots/discover.js';
import type { Target } from './targets.js';

export interface TargetSummary {
  readonly sigmaRel: number;
  readonly gamma: number;
  readonly time: number;
  readonly snapshotsUsed: number;
  readonly fitError: number;
  readonly sumAbsCoefficients: number;
  /** Coefficient of each snapshot used, in `used` order. */
  readonly coefficients: readonly number[];
}

export interface ReconstructionPlan {
  readonly time: number;
  readonly timeUnit: string | undefined;
  /** Snapshots with time <= the target time, sorted by time. */
  readonly used: readonly Snapshot[];
  readonly targets: readonly Target[];
  readonly solution: Solution;
  readonly summaries: readonly TargetSummary[];
}

export function planReconstruction(set: SnapshotSet, targets: readonly Target[], requestedTime?: number): ReconstructionPlan {
  const time = chooseTime(set, requestedTime);
  // Later snapshots contain weights from after the target time and must not be used.
  const used = set.snapshots.filter((s) => s.time <= time);
  const solution = solveCoefficients(used, targets.map((t) => t.gamma), time);
  const summaries = targets.map((target, j) => ({
    sigmaRel: target.sigmaRel,
    gamma: target.gamma,
    time,
    snapshotsUsed: used.length,
    fitError: solution.fitErrors[j],
    sumAbsCoefficients: solution.sumAbsCoefficients[j],
    coefficients: solution.coefficients.map((row) => row[j]),
  }));
  return { time, timeUnit: set.timeUnit, used, targets, solution, summaries };
}

function chooseTime(set: SnapshotSet, requested: number | undefined): number {
  const first = set.snapshots[0].time;
  const last = set.snapshots[set.snapshots.length - 1].time;
  if (requested === undefined) return last;
  if (!(requested >= first && requested <= last)) {
    throw new UsageError(`--time ${requested} is outside the snapshots' time range [${first}, ${last}]${set.timeUnit ? ` (${set.timeUnit}s)` : ''}`,
      'an EMA can only be reconstructed at a time from the first to the last snapshot');
  }
  return requested;
}
