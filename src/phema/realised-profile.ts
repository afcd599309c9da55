/**
 * Realised profiles of sparse EMA updates (MATH.md "Realised profiles of sparse updates"): an EMA
 * run on calls s = 1, 1 + k, 1 + 2k, ... with the one-step decay beta_s = (s / (s + 1))^(gamma + 1)
 * (the first call copies the weights), as ema-pytorch's KarrasEMA does with update_every = k.
 * After n calls (time n + 1, the exact convention of src/pytorch/ema-pytorch-convention.ts) update j
 * has weight w_j = (1 - beta_j) prod_{j < v <= J} beta_v, J = the number of updates so far, spread
 * evenly over the steps it stands for: from its call s_j = 1 + (j - 1) k until the next update, i.e.
 * (s_j, s_j + k] (segment 1 from 0, as for k = 1, where call j stands for (j, j + 1]); the last one
 * ends at the snapshot's time n + 1 (the EMA holds it until then). Pure float64 math.
 *
 * Every snapshot of one gamma shares the update schedule, so its density is a common per-gamma
 * function cut at its own last update and scaled. Inner products then follow from recurrences over
 * the segments, computed once per gamma (pair), and each matrix entry costs O(1); only the last,
 * possibly shortened, segment gets its own term.
 */
import type { SnapshotBasis } from './snapshot-basis.js';
import { targetMass, type TargetProfile } from './target-profile.js';

export interface RealisedSnapshot {
  readonly gamma: number;
  /** Update calls so far (ema-pytorch's `step`, the number in the file name): at least 1. */
  readonly calls: number;
}

/** Updates that ran in the first `calls` calls. */
export function updatesAfter(calls: number, every: number): number {
  return calls >= 1 ? Math.floor((calls - 1) / every) + 1 : 0;
}

/** Start and full end of segment j (1-based) in steps: (s_j, s_j + k], segment 1 from 0. */
export function segment(j: number, every: number): [number, number] {
  return [j === 1 ? 0 : 1 + (j - 1) * every, 1 + j * every];
}

/** Segment j cut at the time of a snapshot after `calls` calls (calls + 1). */
function segmentUntil(j: number, every: number, calls: number): [number, number] {
  const [a, b] = segment(j, every);
  return [a, Math.min(b, calls + 1)];
}

/** Per gamma: beta_j and the running sum of log beta_v for v = 2..j (index 0 unused). */
interface Decay {
  readonly beta: Float64Array;
  readonly logProduct: Float64Array;
}

function decay(gamma: number, every: number, updates: number): Decay {
  const beta = new Float64Array(updates + 1);
  const logProduct = new Float64Array(updates + 1);
  for (let j = 2; j <= updates; j++) {
    const s = 1 + (j - 1) * every;
    const logBeta = -(gamma + 1) * Math.log1p(1 / s);
    beta[j] = Math.exp(logBeta);
    logProduct[j] = logProduct[j - 1] + logBeta;
  }
  return { beta, logProduct };
}

/** Weight of update j in the average after `updates` updates. */
function weight(d: Decay, j: number, updates: number): number {
  return (1 - d.beta[j]) * Math.exp(d.logProduct[updates] - d.logProduct[j]);
}

/**
 * Standard deviation of tau / t under the realised profile after `calls` calls (t = calls + 1):
 * the realised sigma_rel, to set beside the nominal one.
 */
export function realisedWidth(gamma: number, calls: number, every: number): number {
  const updates = updatesAfter(calls, every);
  const d = decay(gamma, every, updates);
  const t = calls + 1;
  let mass = 0;
  let first = 0;
  let second = 0;
  for (let j = 1; j <= updates; j++) {
    const w = weight(d, j, updates);
    const [a, b] = segmentUntil(j, every, calls).map((x) => x / t);
    mass += w;
    first += (w * (a + b)) / 2;
    second += (w * (a * a + a * b + b * b)) / 3;
  }
  const mean = first / mass;
  return Math.sqrt(Math.max(second / mass - mean * mean, 0));
}

/** The realised profiles of `snapshots` (all updated every `every` calls), for a target at `targetTime` steps. */
export function realisedBasis(snapshots: readonly RealisedSnapshot[], every: number, targetTime: number): SnapshotBasis {
  if (!Number.isSafeInteger(every) || every < 1) throw new RangeError(`update interval must be a positive integer, got ${every}`);
  const updates = snapshots.map((s) => updatesAfter(s.calls, every));
  const most = Math.max(0, ...updates);
  const gammas = [...new Set(snapshots.map((s) => s.gamma))];
  const decays = new Map(gammas.map((g) => [g, decay(g, every, most)]));
  const lengths = new Float64Array(most + 1);
  for (let j = 1; j <= most; j++) {
    const [a, b] = segment(j, every);
    lengths[j] = (b - a) / targetTime;
  }
  const ends = snapshots.map((s, i) => segmentUntil(updates[i], every, s.calls)[1]);
  const n = snapshots.length;
  return {
    size: n,
    gram() {
      // T_J = sum_{j <= J} w1_j w2_j / len_j for averages ending at update J: T_J = b1 b2 T_{J-1} + (1-b1)(1-b2)/len_J,
      // once per pair of gammas (indexed, so the n^2 entries do no lookups by key).
      const g = gammas.length;
      const d = gammas.map((gamma) => decays.get(gamma)!);
      const pairSums: Float64Array[] = new Array(g * g);
      for (let p = 0; p < g; p++) {
        for (let q = p; q < g; q++) {
          const sums = new Float64Array(most + 1);
          for (let j = 1; j <= most; j++) sums[j] = d[p].beta[j] * d[q].beta[j] * sums[j - 1] + ((1 - d[p].beta[j]) * (1 - d[q].beta[j])) / lengths[j];
          pairSums[p * g + q] = sums;
          pairSums[q * g + p] = sums;
        }
      }
      const index = snapshots.map((s) => gammas.indexOf(s.gamma));
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) {
        const di = d[index[i]];
        const li = updates[i];
        for (let k = i; k < n; k++) {
          const dk = d[index[k]];
          const lk = updates[k];
          const j = Math.min(li, lk);
          const later = di.logProduct[li] - di.logProduct[j] + dk.logProduct[lk] - dk.logProduct[j];
          let overlap = pairSums[index[i] * g + index[k]][j];
          if (li === lk) {
            // Both end in segment j, perhaps cut short: its densities are (1 - beta) / (own length),
            // overlapping on the shorter one, i.e. (1 - b1)(1 - b2) / (longer length) instead of / len_j.
            const longer = (Math.max(ends[i], ends[k]) - segment(j, every)[0]) / targetTime;
            overlap += (1 - di.beta[j]) * (1 - dk.beta[j]) * (1 / longer - 1 / lengths[j]);
          }
          const value = Math.exp(later) * overlap;
          a[i * n + k] = value;
          a[k * n + i] = value;
        }
      }
      return a;
    },
    cross(targets) {
      // R_J = sum_{j <= J} w_j m_j / len_j, m_j the target's mass on segment j: R_J = b_J R_{J-1} + (1 - b_J) m_J / len_J.
      const columns = targets.map((target) => new Map(gammas.map((g) => [g, massRecurrence(decays.get(g)!, target, every, targetTime, lengths, most)])));
      return snapshots.map((s, i) => columns.map((byGamma, c) => {
        // R_{J-1} and the last segment, cut at the snapshot's time: its weight 1 - beta_J over its own length.
        const d = decays.get(s.gamma)!;
        const j = updates[i];
        const start = segment(j, every)[0];
        const last = ((1 - d.beta[j]) * targetMass(targets[c], start / targetTime, ends[i] / targetTime)) / ((ends[i] - start) / targetTime);
        return d.beta[j] * byGamma.get(s.gamma)![j - 1] + last;
      }));
    },
  };
}

function massRecurrence(d: Decay, target: TargetProfile, every: number, targetTime: number, lengths: Float64Array, most: number): Float64Array {
  const sums = new Float64Array(most + 1);
  for (let j = 1; j <= most; j++) {
    const [a, b] = segment(j, every);
    sums[j] = d.beta[j] * sums[j - 1] + ((1 - d.beta[j]) * targetMass(target, a / targetTime, b / targetTime)) / lengths[j];
  }
  return sums;
}
