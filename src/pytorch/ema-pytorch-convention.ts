/**
 * The folder convention of the `ema-pytorch` package's PostHocEMA (facts read from its
 * ema_pytorch/post_hoc_ema.py; no code taken): each checkpoint is `<profile index>.<step>.pt`, a
 * float16 state dict of a KarrasEMA module with keys `initted`, `step` and `ema_model.<name>`, and
 * no metadata. The profile of an index comes from the sigma_rels (or gammas) the user passed to
 * PostHocEMA, in order; the time comes from the step. Pure functions: no I/O.
 *
 * Time: KarrasEMA counts update() calls in `step`. With update_every = 1, after n calls the
 * weight of the online weights from call j is ((j+1)^(g+1) - j^(g+1)) / (n+1)^(g+1) (call 1:
 * 2^(g+1) / (n+1)^(g+1)), i.e. exactly the power profile at time n + 1 with call j standing for
 * (j, j+1]; the file is labelled n. The exact convention therefore places it at n + 1; the
 * `ema-pytorch` convention keeps the label n, as its synthesize_ema_model does.
 */
import { InputFileError } from '../errors.js';
import { gammaToSigmaRel, sigmaRelToGamma } from '../phema/profile.js';

export type TimeConvention = 'exact' | 'ema-pytorch';

/** KarrasEMA's default `update_every`: the EMA is updated only on every 100th call. */
export const EMA_PYTORCH_DEFAULT_UPDATE_EVERY = 100;

export interface EmaPytorchFileName {
  /** Position of the profile in PostHocEMA's sigma_rels / gammas tuple. */
  readonly profileIndex: number;
  /** KarrasEMA.step when saved: the number of update() calls so far. */
  readonly step: number;
}

/** Parses `<profile index>.<step>.pt` (a bare file name or a path); undefined for other names. */
export function parseEmaPytorchFileName(fileName: string): EmaPytorchFileName | undefined {
  const base = fileName.slice(Math.max(fileName.lastIndexOf('/'), fileName.lastIndexOf('\\')) + 1);
  const match = /^(\d{1,6})\.(\d{1,15})\.pt$/.exec(base);
  if (!match) return undefined;
  return { profileIndex: Number(match[1]), step: Number(match[2]) };
}

/** The profile list the training used: `--profiles` (sigma_rel) or `--profile-gammas` (gamma). */
export type ProfileList =
  | { readonly kind: 'sigma_rel'; readonly values: readonly number[] }
  | { readonly kind: 'gamma'; readonly values: readonly number[] };

export interface SnapshotProfile {
  readonly sigmaRel: number;
  readonly gamma: number;
}

/** Maps a file's profile index to its (sigma_rel, gamma); throws naming the file if out of range. */
export function profileForIndex(profileIndex: number, profiles: ProfileList, fileName: string): SnapshotProfile {
  const flag = profiles.kind === 'sigma_rel' ? '--profiles' : '--profile-gammas';
  if (profileIndex >= profiles.values.length) {
    throw new InputFileError(
      `${fileName} has profile index ${profileIndex}, but ${flag} lists only ${profiles.values.length} value(s): ${profiles.values.join(',')}`,
      `list the ${profiles.kind} values in the order they were given to PostHocEMA`,
    );
  }
  const value = profiles.values[profileIndex];
  return profiles.kind === 'sigma_rel'
    ? { sigmaRel: value, gamma: sigmaRelToGamma(value) }
    : { sigmaRel: gammaToSigmaRel(value), gamma: value };
}

/**
 * Training time of a snapshot labelled `step`: step + 1 under the exact convention (see the file
 * comment; exact only for update_every = 1), the label itself under `ema-pytorch`.
 */
export function snapshotTimeForStep(step: number, convention: TimeConvention): number {
  if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`step must be a non-negative integer, got ${step}`);
  return convention === 'exact' ? step + 1 : step;
}

/**
 * KarrasEMA's bookkeeping buffers. PostHocEMA casts them to float16 with the weights, so their
 * dtype does not tell them apart; they are counters, never to be blended (copy them instead).
 */
export function isEmaPytorchBookkeepingTensor(name: string): boolean {
  return name === 'step' || name === 'initted';
}

export interface EmaPytorchSnapshotDescription extends SnapshotProfile {
  readonly profileIndex: number;
  /** The step in the file name. */
  readonly step: number;
  /** Training time under the chosen convention (see snapshotTimeForStep). */
  readonly time: number;
  readonly timeUnit: 'step';
}

/**
 * Everything discovery needs from an ema-pytorch file name: profile (from the user's list) and
 * time. Undefined when the name is not `<index>.<step>.pt`; throws naming the file if the index
 * is outside the list.
 */
export function describeEmaPytorchSnapshot(
  fileName: string,
  profiles: ProfileList,
  convention: TimeConvention,
): EmaPytorchSnapshotDescription | undefined {
  const parsed = parseEmaPytorchFileName(fileName);
  if (!parsed) return undefined;
  const profile = profileForIndex(parsed.profileIndex, profiles, fileName);
  return { ...parsed, ...profile, time: snapshotTimeForStep(parsed.step, convention), timeUnit: 'step' };
}
