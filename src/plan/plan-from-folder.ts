/**
 * `plan --from DIR`: what an existing snapshot folder says about a run so far (headers only): its
 * snapshots, tracked profiles, time reached, cadence and typical file size.
 */
import { discoverSnapshots, type DiscoveryOptions } from '../snapshots/discover.js';
import type { Profile } from '../phema/inner-product.js';
import type { TrackedProfile } from './cadence-plan.js';

export interface RunSoFar {
  readonly dir: string;
  readonly existing: readonly Profile[];
  readonly tracked: readonly TrackedProfile[];
  /** Time of the latest snapshot: the run continues from here. */
  readonly timeSoFar: number;
  readonly timeUnit: string | undefined;
  /** Median gap between consecutive snapshot times (null with one time). */
  readonly cadenceSoFar: number | null;
  /** Mean file size, for the disk estimate. */
  readonly snapshotBytes: number;
  readonly notes: readonly string[];
}

export async function readRunSoFar(dir: string, options: DiscoveryOptions): Promise<RunSoFar> {
  const set = await discoverSnapshots(dir, options);
  const tracked = new Map<number, TrackedProfile>();
  for (const s of set.snapshots) tracked.set(s.gamma, { sigmaRel: s.sigmaRel, gamma: s.gamma });
  const times = [...new Set(set.snapshots.map((s) => s.time))].sort((a, b) => a - b);
  const gaps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
  return {
    dir,
    existing: set.snapshots.map((s) => ({ time: s.time, gamma: s.gamma })),
    tracked: [...tracked.values()].sort((a, b) => a.sigmaRel - b.sigmaRel),
    timeSoFar: times[times.length - 1],
    timeUnit: set.timeUnit,
    cadenceSoFar: gaps.length > 0 ? gaps[Math.floor(gaps.length / 2)] : null,
    snapshotBytes: Math.round(set.snapshots.reduce((sum, s) => sum + s.bytes, 0) / set.snapshots.length),
    notes: set.notes,
  };
}
