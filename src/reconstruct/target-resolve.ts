/**
 * Turns a command-line target into the profile the solve uses, once the target time and the
 * snapshots' time unit are known: lengths given as a percentage become time units, `--beta` gets its
 * update interval (1 step by default; required for folders that count images), and each target gets
 * the metadata and JSON fields that say what it is (FORMAT.md "Outputs").
 */
import { UsageError } from '../errors.js';
import { targetWidth, type TargetProfile } from '../phema/target-profile.js';
import { targetLabel, type Length, type Target } from './targets.js';

export interface ResolvedTarget {
  readonly target: Target;
  readonly kind: Target['kind'];
  readonly label: string;
  /** The profile at the target time, in units of that time. */
  readonly profile: TargetProfile;
  /** Equivalent width: the standard deviation of tau / t under the profile (sigma_rel for power targets). */
  readonly width: number;
  /** What the profile is, in the snapshots' time unit: sigma_rel/gamma, half_life/rate/beta, or window. */
  readonly parameters: Readonly<Record<string, number>>;
}

export function resolveTarget(target: Target, time: number, timeUnit: string | undefined): ResolvedTarget {
  const label = targetLabel(target);
  const resolved = (profile: TargetProfile, parameters: Record<string, number>): ResolvedTarget =>
    ({ target, kind: target.kind, label, profile, width: targetWidth(profile), parameters });
  switch (target.kind) {
    case 'power':
      return resolved({ kind: 'power', gamma: target.gamma }, { sigma_rel: target.sigmaRel, gamma: target.gamma });
    case 'exponential': {
      let rate: number;
      const extra: Record<string, number> = {};
      if (target.givenAs === 'beta') {
        const every = target.betaEvery ?? defaultBetaEvery(timeUnit);
        rate = -Math.log(target.beta) / every;
        extra.beta = target.beta;
        extra.beta_every = every;
      } else {
        rate = Math.LN2 / inTimeUnits(target.halfLife, time);
      }
      return resolved({ kind: 'exponential', rate: rate * time }, { half_life: Math.LN2 / rate, rate, ...extra });
    }
    case 'window': {
      const width = inTimeUnits(target.window, time);
      if (width > time) {
        throw new UsageError(`--window ${width} is longer than the run up to the target time (${time}${timeUnit ? ` ${timeUnit}s` : ''})`,
          'a window averages the last part of training; give at most the target time, or a percentage such as 20%');
      }
      return resolved({ kind: 'window', width: width / time }, { window: width });
    }
  }
}

function inTimeUnits(length: Length, time: number): number {
  return length.percent ? (length.value / 100) * time : length.value;
}

function defaultBetaEvery(timeUnit: string | undefined): number {
  if (timeUnit === 'step') return 1;
  throw new UsageError(`--beta needs --beta-every: the snapshots count ${timeUnit === undefined ? 'time in an unknown unit' : `${timeUnit}s`}, so the time between EMA updates is not known`,
    timeUnit === 'image' ? 'give the batch size, e.g. --beta-every 2048 (images per optimizer step), or use --half-life' : 'give the time units per EMA update, or use --half-life');
}

/** Metadata keys that describe the profile of a reconstructed file (FORMAT.md "Outputs"). */
export function profileMetadata(target: ResolvedTarget): Record<string, string> {
  const p = target.parameters;
  switch (target.kind) {
    case 'power':
      return { ema_profile: 'power', ema_sigma_rel: String(p.sigma_rel), ema_gamma: String(p.gamma) };
    case 'exponential':
      return {
        ema_profile: 'exponential', ema_half_life: String(p.half_life),
        ...(p.beta === undefined ? {} : { ema_beta: String(p.beta), ema_beta_every: String(p.beta_every) }),
        ema_width: String(target.width),
      };
    case 'window':
      return { ema_profile: 'window', ema_window: String(p.window), ema_width: String(target.width) };
  }
}
