/**
 * Warnings about targets the snapshots cannot represent well, with the likely reason, so users
 * do not trust a poor reconstruction silently (MATH.md "Diagnostics").
 */
import type { ReconstructionPlan, TargetSummary } from './plan.js';
import { formatSigma } from './report-text.js';

/** Fit errors above this are worth a warning (5% relative L2 distance between profiles). */
export const LARGE_FIT_ERROR = 0.05;
/** Whether a fit error is large enough to warn about; tables mark such rows "poor fit". */
export function isPoorFit(fitError: number | null): boolean {
  return fitError !== null && fitError > LARGE_FIT_ERROR;
}

/** Told once under each table that marks rows "poor fit". */
export const POOR_FIT_NOTE = `poor fit: fit error above ${LARGE_FIT_ERROR * 100}%: the snapshots cannot represent that EMA well, so the result is a different average`;

/** Coefficient mass above this amplifies fp16 rounding in the snapshots noticeably. */
export const LARGE_COEFFICIENT_SUM = 10;
/** Fewer snapshots than this per tracked profile leave little to fit with. */
const FEW_SNAPSHOTS = 4;

export function fitWarnings(plan: ReconstructionPlan, summary: TargetSummary): string[] {
  const warnings: string[] = [];
  const label = summary.kind === 'power' ? `sigma_rel ${formatSigma(summary.sigmaRel)}` : summary.label;
  if (summary.fitError > LARGE_FIT_ERROR) {
    warnings.push(`${label}: fit error ${(summary.fitError * 100).toFixed(1)}% is large: ${likelyReason(plan, summary)}`);
  }
  if (summary.sumAbsCoefficients > LARGE_COEFFICIENT_SUM) {
    const reason = warnings.length > 0 ? '' : ` (${likelyReason(plan, summary)})`;
    warnings.push(`${label}: coefficients sum to ${summary.sumAbsCoefficients.toFixed(1)} in absolute value, so rounding noise in the snapshots is amplified about that much${reason}`);
  }
  return warnings;
}

function likelyReason(plan: ReconstructionPlan, summary: TargetSummary): string {
  // With realised profiles (sparse ema-pytorch updates) the widths that matter are the realised ones.
  const width = (s: ReconstructionPlan['used'][number]): number => plan.realisedWidths?.get(s.gamma) ?? s.sigmaRel;
  const tracked = [...new Set(plan.used.map(width))].sort((a, b) => a - b);
  const perProfile = Math.min(...tracked.map((sigma) => plan.used.filter((s) => width(s) === sigma).length));
  const which = plan.realisedWidths === undefined ? 'tracked' : 'realised';
  if (summary.sigmaRel < tracked[0]) {
    return `the target is narrower than the narrowest ${which} profile (sigma_rel ${formatSigma(tracked[0])}), which no blend can sharpen much`;
  }
  if (perProfile < FEW_SNAPSHOTS) {
    return `only ${plan.used.length} snapshot(s) up to time ${plan.time} (${perProfile} of the sparsest profile); more snapshots give finer control`;
  }
  if (summary.sigmaRel > tracked[tracked.length - 1] * 2) {
    return `the target is much wider than the widest ${which} profile (sigma_rel ${formatSigma(tracked[tracked.length - 1])}) and early snapshots are sparse`;
  }
  return 'the snapshots do not cover this profile well; check the cadence with `ema-synth inspect`';
}
