/**
 * Plans a reconstruction: which snapshots a target time may use, the solve for all targets, and
 * the per-target summary users see. No I/O beyond what the snapshot set already read.
 */
import { UsageError } from '../errors.js';
import { checkSnapshots, solveWithBasis, type Solution } from '../phema/solve.js';
import { powerBasis, type SnapshotBasis } from '../phema/snapshot-basis.js';
import { realisedBasis, realisedWidth } from '../phema/realised-profile.js';
import { isEmaPytorchBookkeepingTensor } from '../pytorch/ema-pytorch-convention.js';
import type { Snapshot, SnapshotSet } from '../snapshots/discover.js';
import { matchEmaPytorch } from './match-ema-pytorch.js';
import { resolveTarget, type ResolvedTarget } from './target-resolve.js';
import type { Target } from './targets.js';

export interface TargetSummary {
  readonly kind: Target['kind'];
  /** e.g. `sigma_rel 0.08`, `beta 0.9999`, `half-life 5%`, `window 2000`. */
  readonly label: string;
  /** sigma_rel of power targets; the equivalent width (std of tau / t) of the others. */
  readonly sigmaRel: number;
  /** Power targets only (NaN for the others). */
  readonly gamma: number;
  readonly resolved: ResolvedTarget;
  readonly time: number;
  readonly snapshotsUsed: number;
  readonly fitError: number;
  readonly sumAbsCoefficients: number;
  /** Coefficient of each snapshot used, in `used` order. */
  readonly coefficients: readonly number[];
}

/** `exact`: the math of MATH.md. `ema-pytorch`: what ema-pytorch's synthesize_ema_model computes. */
export type Convention = 'exact' | 'ema-pytorch';

export interface PlanOptions {
  readonly convention?: Convention;
  /**
   * ema-pytorch folders: the update_every the run used, when the user gave it. Above 1 the solve
   * (and the diagnostics) use the snapshots' realised profiles instead of their nominal ones.
   */
  readonly updateEvery?: number;
}

export interface ReconstructionPlan {
  readonly time: number;
  readonly timeUnit: string | undefined;
  /** Snapshots blended, sorted by time (exact: those with time <= the target time). */
  readonly used: readonly Snapshot[];
  readonly targets: readonly Target[];
  readonly solution: Solution;
  readonly summaries: readonly TargetSummary[];
  /** Float tensors that are counters or buffers, copied from `copyFrom` instead of blended. */
  readonly copiedTensors: ReadonlySet<string>;
  /** True when the snapshots' realised profiles (sparse updates) were used. */
  readonly realised: boolean;
  /** With realised profiles: each tracked gamma's realised width at the latest snapshot used. */
  readonly realisedWidths?: ReadonlyMap<number, number>;
  /** The snapshot copied tensors come from: the latest used (for EDM2 pickles, last in the official tool's (time, std) order). */
  readonly copyFrom: Snapshot;
  /** The snapshot a pickle output is made from: the first used, in the same order. */
  readonly template: Snapshot;
}

export function planReconstruction(set: SnapshotSet, targets: readonly Target[], requestedTime?: number, convention: Convention = 'exact', options: PlanOptions = {}): ReconstructionPlan {
  const time = chooseTime(set, requestedTime);
  const resolved = targets.map((target) => resolveTarget(target, time, set.timeUnit));
  const realised = usesRealisedProfiles(set, options.updateEvery);
  // ema-pytorch saves its step/initted counters as float16 beside the weights: never blend them.
  const copiedTensors = new Set(set.emaPytorch ? set.snapshots[0].source.tensors.map((t) => t.name).filter(isEmaPytorchBookkeepingTensor) : []);
  // Module buffers (EDM2's Fourier frequencies and phases) are state: the latest snapshot's, as the official tool copies them.
  for (const name of set.snapshots[set.snapshots.length - 1].source.bufferNames ?? []) copiedTensors.add(name);
  if (convention === 'ema-pytorch') {
    const nonPower = resolved.find((t) => t.kind !== 'power');
    if (nonPower !== undefined) throw new UsageError(`--match ema-pytorch reconstructs power-function targets only, not ${nonPower.label}`, 'drop --match ema-pytorch for exponential or window targets');
    const diagnostics = (used: readonly Snapshot[]): SnapshotBasis => snapshotBasis(used, time, realised ? options.updateEvery! : undefined, convention);
    const { solution } = matchEmaPytorch(set.snapshots, targets.map((t) => (t.kind === 'power' ? t.gamma : NaN)), time, diagnostics);
    return { ...summarise(set, targets, resolved, time, set.snapshots, solution), copiedTensors, realised, ...widthsOf(set.snapshots, realised, options, convention), ...ends(set, set.snapshots) };
  }
  // Later snapshots contain weights from after the target time and must not be used.
  const used = set.snapshots.filter((s) => s.time <= time);
  checkSnapshots(used, time);
  const solution = solveWithBasis(snapshotBasis(used, time, realised ? options.updateEvery! : undefined, convention), resolved.map((t) => t.profile));
  return { ...summarise(set, targets, resolved, time, used, solution), copiedTensors, realised, ...widthsOf(used, realised, options, convention), ...ends(set, used) };
}

/**
 * Ours sort a time's snapshots widest profile first; the official tool sorts by (time, std), deep-copies
 * the first pickle and takes buffers from the last. Pickle outputs follow it, so buffers match its outputs.
 */
function ends(set: SnapshotSet, used: readonly Snapshot[]): { template: Snapshot; copyFrom: Snapshot } {
  if (!set.edm2Pickles) return { template: used[0], copyFrom: used[used.length - 1] };
  const official = [...used].sort((a, b) => a.time - b.time || a.sigmaRel - b.sigmaRel);
  return { template: official[0], copyFrom: official[official.length - 1] };
}

function widthsOf(used: readonly Snapshot[], realised: boolean, options: PlanOptions, convention: Convention): { realisedWidths?: Map<number, number> } {
  if (!realised) return {};
  const latest = new Map(used.map((s) => [s.gamma, s.time]));
  const calls = (time: number): number => (convention === 'exact' ? time - 1 : time);
  return { realisedWidths: new Map([...latest].map(([gamma, time]) => [gamma, realisedWidth(gamma, calls(time), options.updateEvery!)])) };
}

function usesRealisedProfiles(set: SnapshotSet, updateEvery: number | undefined): boolean {
  return set.emaPytorch && updateEvery !== undefined && updateEvery > 1;
}

/**
 * The snapshots' profiles in units of the target time: nominal power profiles, or with sparse
 * updates every `updateEvery` calls their realised ones. ema-pytorch's file `<i>.<n>.pt` holds the
 * average after n calls: time n + 1 under the exact convention, n under ema-pytorch's own.
 */
function snapshotBasis(used: readonly Snapshot[], time: number, updateEvery: number | undefined, convention: Convention): SnapshotBasis {
  if (updateEvery === undefined) return powerBasis(used.map((s) => ({ time: s.time / time, gamma: s.gamma })));
  const shift = convention === 'exact' ? 1 : 0;
  return realisedBasis(used.map((s) => ({ gamma: s.gamma, calls: s.time - shift })), updateEvery, time + 1 - shift);
}

function summarise(set: SnapshotSet, targets: readonly Target[], resolved: readonly ResolvedTarget[], time: number, used: readonly Snapshot[], solution: Solution): Omit<ReconstructionPlan, 'copiedTensors' | 'realised' | 'copyFrom' | 'template'> {
  const summaries = resolved.map((target, j) => ({
    kind: target.kind,
    label: target.label,
    sigmaRel: target.kind === 'power' ? target.parameters.sigma_rel : target.width,
    gamma: target.kind === 'power' ? target.parameters.gamma : NaN,
    resolved: target,
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
