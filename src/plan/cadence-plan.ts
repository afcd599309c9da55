/**
 * `ema-synth plan`: for each candidate snapshot cadence, how many snapshots a run writes, the disk
 * they take, and the worst and median fit error over the targets at each asked-for time; the
 * cheapest cadence that keeps every target within the allowed fit error (and the disk budget) is
 * marked. Pure arithmetic on profiles (schedule-fit.ts): no file is read or written.
 */
import type { Profile } from '../phema/inner-product.js';
import { fitAtTimes, median, worst } from '../phema/schedule-fit.js';
import { geometricTimes, uniformTimes, type Spacing } from '../phema/snapshot-schedule.js';

export interface TrackedProfile {
  readonly sigmaRel: number;
  readonly gamma: number;
}

export interface CadenceCandidate {
  /** As the user wrote it or as the default list names it: `2%`, `8Mi`. */
  readonly label: string;
  /** Snapshot interval in the run's time unit, a whole number (a loop can only snapshot there). */
  readonly interval: number;
}

export interface CadenceSpec {
  /** Total length of the run, in its time unit (images or steps). */
  readonly duration: number;
  /** Time already trained (0 for a new run; the latest snapshot's time with --from). */
  readonly start: number;
  /** Snapshots already on disk (empty for a new run). */
  readonly existing: readonly Profile[];
  readonly tracked: readonly TrackedProfile[];
  readonly targets: readonly TrackedProfile[];
  /** Times to judge the fit at, in the run's time unit. */
  readonly times: readonly number[];
  readonly candidates: readonly CadenceCandidate[];
  readonly spacing: Spacing;
  readonly snapshotBytes: number | undefined;
  readonly budgetBytes: number | undefined;
  readonly maxFitError: number;
}

export interface TimeSummary {
  readonly requested: number;
  /** Time the fit is computed at: the latest snapshot at or before `requested` (null: none yet). */
  readonly time: number | null;
  readonly worst: number | null;
  readonly median: number | null;
  /** sigma_rel of the target with the worst fit. */
  readonly worstSigmaRel: number | null;
}

export interface CadenceRow {
  readonly label: string;
  readonly spacing: Spacing;
  readonly interval: number;
  /** Snapshot times of each tracked profile still to be written. */
  readonly newTimes: readonly number[];
  /** Files the run ends with (every tracked profile at every time, plus those already on disk). */
  readonly snapshots: number;
  readonly bytes: number | null;
  readonly perTime: readonly TimeSummary[];
  /** Worst fit error over every target and time (Infinity when a time has no snapshot yet). */
  readonly worst: number;
  readonly withinError: boolean;
  readonly withinBudget: boolean;
}

export interface CadenceTable {
  readonly rows: readonly CadenceRow[];
  /** Index into rows of the cheapest row within the fit-error bound and budget, if any. */
  readonly cheapest: number | undefined;
}

export function planCadences(spec: CadenceSpec): CadenceTable {
  const spacings: Spacing[] = spec.spacing === 'geometric' ? ['uniform', 'geometric'] : ['uniform'];
  const rows: CadenceRow[] = [];
  for (const candidate of spec.candidates) {
    const uniform = uniformTimes(spec.start, spec.duration, candidate.interval);
    for (const spacing of spacings) {
      const newTimes = spacing === 'uniform' ? uniform : geometricTimes(spec.start, spec.duration, uniform.length);
      rows.push(evaluateRow(spec, candidate, spacing, newTimes));
    }
  }
  return { rows, cheapest: cheapestRow(rows) };
}

function evaluateRow(spec: CadenceSpec, candidate: CadenceCandidate, spacing: Spacing, newTimes: readonly number[]): CadenceRow {
  // In discovery's order (time, then gamma), so the solve sees the same matrix as `inspect` on such a folder.
  const snapshots: Profile[] = [...spec.existing, ...newTimes.flatMap((time) => spec.tracked.map((p) => ({ time, gamma: p.gamma })))]
    .sort((a, b) => a.time - b.time || a.gamma - b.gamma);
  const gammas = spec.targets.map((t) => t.gamma);
  const perTime = fitAtTimes(snapshots, gammas, spec.times).map((fit): TimeSummary => {
    if (fit.time === undefined) return { requested: fit.requested, time: null, worst: null, median: null, worstSigmaRel: null };
    const worstError = worst(fit.errors);
    return { requested: fit.requested, time: fit.time, worst: worstError, median: median(fit.errors), worstSigmaRel: spec.targets[fit.errors.indexOf(worstError)].sigmaRel };
  });
  const worstOverall = perTime.reduce((a, t) => Math.max(a, t.worst ?? Number.POSITIVE_INFINITY), 0);
  const bytes = spec.snapshotBytes === undefined ? null : snapshots.length * spec.snapshotBytes;
  return {
    label: candidate.label,
    spacing,
    interval: candidate.interval,
    newTimes,
    snapshots: snapshots.length,
    bytes,
    perTime,
    worst: worstOverall,
    withinError: worstOverall <= spec.maxFitError,
    withinBudget: spec.budgetBytes === undefined || (bytes !== null && bytes <= spec.budgetBytes),
  };
}

/** Fewest files (hence bytes); among equals the smaller worst error. */
function cheapestRow(rows: readonly CadenceRow[]): number | undefined {
  let best: number | undefined;
  rows.forEach((row, index) => {
    if (!row.withinError || !row.withinBudget) return;
    const current = best === undefined ? undefined : rows[best];
    if (current === undefined || row.snapshots < current.snapshots || (row.snapshots === current.snapshots && row.worst < current.worst)) best = index;
  });
  return best;
}

/**
 * Geometric against uniform spacing at equal disk, per cadence: how often the geometric times give
 * the smaller worst error. Reported whichever way it comes out.
 */
export function compareSpacings(table: CadenceTable): { readonly cadences: number; readonly geometric_better: number } {
  let cadences = 0;
  let geometricBetter = 0;
  for (let i = 0; i + 1 < table.rows.length; i++) {
    const [a, b] = [table.rows[i], table.rows[i + 1]];
    if (a.spacing !== 'uniform' || b.spacing !== 'geometric' || a.label !== b.label) continue;
    cadences++;
    if (b.worst < a.worst) geometricBetter++;
  }
  return { cadences, geometric_better: geometricBetter };
}
