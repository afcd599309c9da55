/**
 * What a user wants to know about a snapshot folder before reconstructing: profiles, time range and
 * cadence, the network's size, and which EMA lengths the snapshots support (fit error per target).
 * Reads headers only (via discovery); the solve is the same one reconstruct uses.
 */
import { isFloatDType, elementCount, type TensorSource } from '../tensors/tensor-source.js';
import { Edm2PickleSource } from '../pytorch/edm2-pickle-source.js';
import { realisedWidth } from '../phema/realised-profile.js';
import { planReconstruction, type Convention, type PlanOptions } from '../reconstruct/plan.js';
import type { Target } from '../reconstruct/targets.js';
import type { SnapshotSet } from '../snapshots/discover.js';

export interface ProfileSummary {
  readonly sigma_rel: number;
  readonly gamma: number;
  readonly snapshots: number;
  readonly first_time: number;
  readonly last_time: number;
  /** Median spacing between consecutive snapshots of this profile (null with one snapshot). */
  readonly cadence: number | null;
  /** With --update-every K > 1 on an ema-pytorch folder: the realised width of the latest snapshot (else null). */
  readonly realised_sigma_rel: number | null;
}

export interface FitSummary {
  readonly kind: string;
  readonly target: string;
  /** Power targets only (null for the others). */
  readonly sigma_rel: number | null;
  readonly gamma: number | null;
  /** Standard deviation of tau / t under the target profile. */
  readonly width: number;
  readonly fit_error: number;
  readonly sum_abs_coefficients: number;
}

export interface Inspection {
  readonly snapshot_dir: string;
  readonly snapshots: number;
  readonly time_unit: string | null;
  readonly first_time: number;
  readonly last_time: number;
  readonly profiles: readonly ProfileSummary[];
  readonly tensors: number;
  readonly parameters: number;
  readonly dtypes: Readonly<Record<string, number>>;
  readonly bytes_on_disk: number;
  readonly condition_number: number;
  readonly fit_at_time: number;
  /** `realised`: the fit used the snapshots' realised profiles (sparse ema-pytorch updates). */
  readonly snapshot_profiles: 'nominal' | 'realised';
  readonly fit: readonly FitSummary[];
  readonly notes: readonly string[];
  /** EDM2 pickles: what else the (latest) file holds, and the classes whose source it carries. */
  readonly pickle?: {
    readonly network_key: string;
    readonly other_keys: ReadonlyArray<{ readonly key: string; readonly description: string }>;
    readonly persistent_classes: ReadonlyArray<{ readonly class_name: string; readonly source_bytes: number; readonly source_sha256: string }>;
  };
}

export function inspectSnapshots(set: SnapshotSet, grid: readonly Target[], time?: number, convention: Convention = 'exact', options: PlanOptions = {}): Inspection {
  const snapshots = set.snapshots;
  const layout = snapshots[snapshots.length - 1].source.tensors;
  const dtypes: Record<string, number> = {};
  let parameters = 0;
  for (const tensor of layout) {
    dtypes[tensor.dtype] = (dtypes[tensor.dtype] ?? 0) + 1;
    if (isFloatDType(tensor.dtype)) parameters += elementCount(tensor.shape);
  }
  const plan = planReconstruction(set, grid, time, convention, options);
  const realisedEvery = plan.realised ? options.updateEvery : undefined;
  // ema-pytorch's <i>.<n>.pt holds the average after n calls: time n + 1 under the exact convention.
  const calls = (time: number): number => (convention === 'exact' ? time - 1 : time);
  return {
    snapshot_dir: set.dir,
    snapshots: snapshots.length,
    time_unit: set.timeUnit ?? null,
    first_time: snapshots[0].time,
    last_time: snapshots[snapshots.length - 1].time,
    profiles: summariseProfiles(set, (gamma, last) => (realisedEvery === undefined ? null : realisedWidth(gamma, calls(last), realisedEvery))),
    tensors: layout.length,
    parameters,
    dtypes,
    bytes_on_disk: snapshots.reduce((sum, s) => sum + s.bytes, 0),
    condition_number: plan.solution.condition,
    fit_at_time: plan.time,
    snapshot_profiles: plan.realised ? 'realised' : 'nominal',
    fit: plan.summaries.map((s) => ({
      kind: s.kind, target: s.label, sigma_rel: s.kind === 'power' ? s.sigmaRel : null, gamma: s.kind === 'power' ? s.gamma : null,
      width: s.resolved.width, fit_error: s.fitError, sum_abs_coefficients: s.sumAbsCoefficients,
    })),
    notes: set.notes,
    ...pickleContents(snapshots[snapshots.length - 1].source),
  };
}

function pickleContents(source: TensorSource): Pick<Inspection, 'pickle'> {
  if (!(source instanceof Edm2PickleSource)) return {};
  const { networkKey, otherKeys, classes } = source.layout;
  return {
    pickle: {
      network_key: networkKey,
      other_keys: otherKeys,
      persistent_classes: classes.map((c) => ({ class_name: c.className, source_bytes: c.sourceBytes, source_sha256: c.sourceSha256 })),
    },
  };
}

function summariseProfiles(set: SnapshotSet, realised: (gamma: number, lastTime: number) => number | null): ProfileSummary[] {
  const byGamma = new Map<number, number[]>();
  for (const s of set.snapshots) byGamma.set(s.gamma, [...(byGamma.get(s.gamma) ?? []), s.time]);
  return [...byGamma.entries()]
    .map(([gamma, times]) => {
      const sigma = set.snapshots.find((s) => s.gamma === gamma)!.sigmaRel;
      const gaps = times.slice(1).map((t, i) => t - times[i]).sort((a, b) => a - b);
      return {
        sigma_rel: sigma,
        gamma,
        snapshots: times.length,
        first_time: times[0],
        last_time: times[times.length - 1],
        cadence: gaps.length > 0 ? gaps[Math.floor(gaps.length / 2)] : null,
        realised_sigma_rel: realised(gamma, times[times.length - 1]),
      };
    })
    .sort((a, b) => a.sigma_rel - b.sigma_rel);
}
