/**
 * Metadata of a reconstructed file (FORMAT.md "Outputs"): the profile it represents, how well it
 * fits, how many snapshots went in, plus the snapshots' own keys so run information survives.
 */
import type { Snapshot } from '../snapshots/discover.js';
import type { TargetSummary } from './plan.js';
import { profileMetadata } from './target-resolve.js';
import { targetNameStem, type Target } from './targets.js';

const OWN_KEYS = [
  'ema_profile', 'ema_sigma_rel', 'ema_gamma', 'ema_half_life', 'ema_beta', 'ema_beta_every', 'ema_window', 'ema_width',
  'ema_time', 'ema_time_unit', 'ema_fit_error', 'ema_snapshots',
];

export function outputMetadata(summary: TargetSummary, timeUnit: string | undefined, latest: Snapshot): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(latest.source.metadata)) {
    if (!OWN_KEYS.includes(key)) metadata[key] = value;
  }
  Object.assign(metadata, profileMetadata(summary.resolved));
  metadata.ema_time = String(summary.time);
  if (timeUnit !== undefined) metadata.ema_time_unit = timeUnit;
  metadata.ema_fit_error = String(summary.fitError);
  metadata.ema_snapshots = String(summary.snapshotsUsed);
  return metadata;
}

/**
 * `ema-sigma0.08-time8388608.safetensors` (`ema-gamma6.94-...`, `ema-beta0.9999-...`,
 * `ema-halflife5pct-...`, `ema-window20000-...` for the other targets): the number as the user gave
 * it, in its shortest exact form, never rounded to 3 places (0.0625 is not 0.062 or 0.063).
 */
export function defaultOutputName(target: Target, time: number): string {
  return `ema-${targetNameStem(target)}-time${time}.safetensors`;
}
