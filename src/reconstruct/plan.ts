/**
 * Plans a reconstruction: which snapshots a target time may use, the solve for all targets, and
 * the per-target summary users see. No I/O beyond what the snapshot set already read.
 */
import { UsageError } from '../errors.js';
import { solveCoefficients, type Solution } from '../phema/solve.js';
import { isEmaPytorchBookkeepingTensor } from '../pytorch/ema-pytorch-convention.js';
import type { Snapshot, SnapshotSet } from '../snapshots/discover.js';
import { matchEmaPytorch } from './match-ema-pytorch.js';
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

/** `exact`: the math of MATH.md. `ema-pytorch`: what ema-pytorch's synthesize_ema_model computes. */
export type Convention = 'exact' | 'ema-pytorch';

export interface ReconstructionPlan {
  readonly time: number;
  readonly timeUnit: string | undefined;
  /** Snapshots blended, sorted by time (exact: those with time <= the target time). */
  readonly used: readonly Snapshot[];
  readonly targets: readonly Target[];
  readonly solution: Solution;
  readonly summaries: readonly TargetSummary[];
  /** Float tensors that are counters, copied from the latest snapshot instead of blended. */
  readonly copiedTensors: ReadonlySet<string>;
}

export function planReconstruction(set: SnapshotSet, targets: readonly Target[], requestedTime?: number, convention: Convention = 'exact'): ReconstructionPlan {
  const time = chooseTime(set, requestedTime);
  // ema-pytorch saves its step/initted counters as float16 beside the weights: never blend them.
  const copiedTensors = new Set(set.emaPytorch ? set.snapshots[0].source.tensors.map((t) => t.name).filter(isEmaPytorchBookkeepingTensor) : []);
  if (convention === 'ema-pytorch') {
    const { solution } = matchEmaPytorch(set.snapshots, targets, time);
    return { ...summarise(set, targets, time, set.snapshots, solution), copiedTensors };
  }
  // Later snapshots contain weights from after the target time and must not be used.
  const used = set.snapshots.filter((s) => s.time <= time);
  const solution = solveCoefficients(used, targets.map((t) => t.gamma), time);
  return { ...summarise(set, targets, time, used, solution), copiedTensors };
}

function summarise(set: SnapshotSet, targets: readonly Target[], time: number, used: readonly Snapshot[], solution: Solution): Omit<ReconstructionPlan, 'copiedTensors'> {
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
