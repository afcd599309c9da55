/**
 * Metadata of a reconstructed file (FORMAT.md "Outputs"): the profile it represents, how well it
 * fits, how many snapshots went in, plus the snapshots' own keys so run information survives.
 */
import type { Snapshot } from '../snapshots/discover.js';
import type { TargetSummary } from './plan.js';
import type { Target } from './targets.js';

const OWN_KEYS = ['ema_sigma_rel', 'ema_gamma', 'ema_time', 'ema_time_unit', 'ema_fit_error', 'ema_snapshots'];

export function outputMetadata(summary: TargetSummary, timeUnit: string | undefined, latest: Snapshot): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(latest.source.metadata)) {
    if (!OWN_KEYS.includes(key)) metadata[key] = value;
  }
  metadata.ema_sigma_rel = String(summary.sigmaRel);
  metadata.ema_gamma = String(summary.gamma);
  metadata.ema_time = String(summary.time);
  if (timeUnit !== undefined) metadata.ema_time_unit = timeUnit;
  metadata.ema_fit_error = String(summary.fitError);
  metadata.ema_snapshots = String(summary.snapshotsUsed);
  return metadata;
}

/**
 * `ema-sigma0.08-time8388608.safetensors` (or `ema-gamma6.94-...` for --gamma targets): the number as
 * the user gave it, in its shortest exact form, never rounded to 3 places (0.0625 is not 0.062 or 0.063).
 */
export function defaultOutputName(target: Target, time: number): string {
  const profile = target.givenAs === 'sigma_rel' ? `sigma${String(target.sigmaRel)}` : `gamma${String(target.gamma)}`;
  return `ema-${profile}-time${time}.safetensors`;
}
