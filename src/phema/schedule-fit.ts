/**
 * Fit errors a set of snapshots would give at several times, without any file: the same solve as
 * `reconstruct` and `inspect` (solve.ts), on profiles alone. Used to plan a cadence before training
 * and to judge which snapshots a folder can do without.
 */
import type { Profile } from './inner-product.js';
import { solveCoefficients } from './solve.js';

export interface TimeFit {
  /** The time asked for. */
  readonly requested: number;
  /** The latest snapshot time at or before it: the time a reconstruction can actually be made at. */
  readonly time: number | undefined;
  readonly snapshotsUsed: number;
  /** Fit error per target, in the targets' order (empty when no snapshot precedes the time). */
  readonly errors: readonly number[];
}

/** `snapshots` in any order; each requested time is rounded down to a snapshot time. */
export function fitAtTimes(snapshots: readonly Profile[], targetGammas: readonly number[], requestedTimes: readonly number[]): TimeFit[] {
  return requestedTimes.map((requested) => {
    let time: number | undefined;
    for (const s of snapshots) if (s.time <= requested && (time === undefined || s.time > time)) time = s.time;
    if (time === undefined) return { requested, time, snapshotsUsed: 0, errors: [] };
    const used = snapshots.filter((s) => s.time <= time!);
    return { requested, time, snapshotsUsed: used.length, errors: solveCoefficients(used, targetGammas, time).fitErrors };
  });
}

export function worst(values: readonly number[]): number {
  return values.reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
}

/** Median (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
