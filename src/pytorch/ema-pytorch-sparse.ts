/**
 * What ema-pytorch's sparse updates do to its profiles. KarrasEMA.update() runs the EMA only on
 * calls whose pre-increment counter is a multiple of update_every (calls s = 1, k+1, 2k+1, ...
 * counting from 1), with beta = (1 - 1/(s+1))^(gamma+1): the dt = 1 decay although k steps
 * passed. The realised average then decays far more slowly than the nominal power profile
 * (weight ~ tau^((gamma+1)/k - 1)); e.g. nominal sigma_rel 0.10 with k = 10 realises about 0.30.
 * The folder does not record update_every, so the warning states what the default would mean.
 * Pure functions; no I/O.
 */
import { gammaToSigmaRel } from '../phema/profile.js';

/**
 * Weight of the online weights after each optimizer step 1..steps in KarrasEMA's average after
 * `steps` update() calls (index s - 1 for step s; zero where no update ran). Sums to 1.
 */
export function emaPytorchRealisedWeights(gamma: number, updateEvery: number, steps: number): Float64Array {
  if (!Number.isSafeInteger(updateEvery) || updateEvery < 1) throw new RangeError(`update_every must be a positive integer, got ${updateEvery}`);
  if (!Number.isSafeInteger(steps) || steps < 1) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  const weights = new Float64Array(steps);
  // Walk the updates backwards, carrying the product of the later betas.
  let later = 1;
  const lastUpdate = Math.floor((steps - 1) / updateEvery) * updateEvery + 1;
  for (let s = lastUpdate; s >= 1; s -= updateEvery) {
    // The first update copies the online weights: its beta is effectively 0.
    const beta = s === 1 ? 0 : (s / (s + 1)) ** (gamma + 1);
    weights[s - 1] = (1 - beta) * later;
    later *= beta;
  }
  return weights;
}

/** Relative standard deviation of tau / steps under per-step weights (tau = the step's index, from 1). */
export function realisedSigmaRel(weights: ArrayLike<number>): number {
  const steps = weights.length;
  let total = 0;
  let mean = 0;
  for (let i = 0; i < steps; i++) {
    total += weights[i];
    mean += weights[i] * ((i + 1) / steps);
  }
  mean /= total;
  let variance = 0;
  for (let i = 0; i < steps; i++) variance += weights[i] * ((i + 1) / steps - mean) ** 2;
  return Math.sqrt(variance / total);
}

export interface SparseUpdateReport {
  /** Greatest common divisor of the snapshot steps: checkpoint_every, or a multiple of it. */
  readonly checkpointEvery: number;
  readonly updateEvery: number;
  /**
   * Per profile at the last step under `updateEvery`: nominal and realised sigma_rel, and the
   * share of the average's weight on the first 10% of training (nominal: 0.1^(gamma+1)).
   */
  readonly profiles: readonly { nominalSigmaRel: number; realisedSigmaRel: number; earlyWeight: number }[];
  /** A one-line warning, or undefined when update_every is 1 (nothing to warn about). */
  readonly warning: string | undefined;
}

/**
 * Describes the effect of sparse updates on an ema-pytorch folder: `steps` are the snapshot
 * steps, `gammas` the profiles' nominal gammas, `updateEvery` what the run used (unknown from the
 * files; default the package's 100). The last step bounds the work: O(steps / updateEvery).
 */
export function describeSparseUpdates(
  steps: readonly number[],
  gammas: readonly number[],
  updateEvery = 100,
): SparseUpdateReport {
  const positive = steps.filter((s) => s > 0);
  const checkpointEvery = positive.reduce((g, s) => gcd(g, s), 0);
  const last = Math.max(0, ...positive);
  const profiles = gammas.map((gamma) => {
    const weights = last > 0 ? emaPytorchRealisedWeights(gamma, updateEvery, last) : new Float64Array(0);
    const early = weights.subarray(0, Math.floor(last / 10)).reduce((a, b) => a + b, 0);
    return { nominalSigmaRel: gammaToSigmaRel(gamma), realisedSigmaRel: last > 0 ? realisedSigmaRel(weights) : NaN, earlyWeight: early };
  });
  let warning: string | undefined;
  const updates = last > 0 ? Math.floor((last - 1) / updateEvery) + 1 : 0;
  if (updateEvery > 1 && last > 0 && updates < MIN_UPDATES_FOR_FIGURES) {
    // Too few updates for a profile to speak of: realised sigma_rel would read 0.000, which says
    // nothing. State what such a run would have done instead.
    warning =
      `ema-pytorch does not correct beta when it updates only every update_every steps (default 100; the files do not record it); ` +
      `with update_every=${updateEvery} a run of ${last} steps would have updated its EMAs only ${updates === 1 ? 'once (at step 1, a copy of the weights)' : `${updates} times`}, ` +
      `so its snapshots would hold nothing like the nominal profiles, and reconstructions assuming them would be meaningless unless training used update_every=1`;
  } else if (updateEvery > 1 && last > 0) {
    const pairs = profiles.map((p) => `${p.nominalSigmaRel.toFixed(3)} -> ${p.realisedSigmaRel.toFixed(3)}`).join(', ');
    const early = profiles.map((p) => `${(100 * p.earlyWeight).toFixed(0)}%`).join(', ');
    warning =
      `ema-pytorch does not correct beta when it updates only every update_every steps (default 100; the files do not record it); ` +
      `with update_every=${updateEvery} the profiles at step ${last} are not the nominal ones (sigma_rel ${pairs}; ` +
      `weight on the first 10% of training: ${early}), ` +
      `so reconstructions assuming the nominal profiles are off unless training used update_every=1` +
      ((last - 1) % updateEvery !== 0
        ? `; its last update before step ${last} ran at step ${last - ((last - 1) % updateEvery)}, so snapshots also lag their labels`
        : '');
  }
  return { checkpointEvery, updateEvery, profiles, warning };
}

/** Below this many EMA updates the realised profiles are a handful of copies: no figures are given. */
const MIN_UPDATES_FOR_FIGURES = 10;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
