/**
 * What `reconstruct` reports: one row per target, or one JSON document with every coefficient.
 * collect* builds plain data; render* turns it into text.
 */
import { basename } from 'node:path';
import type { ReconstructionPlan } from '../reconstruct/plan.js';
import { formatFitPercent, formatSigma, formatSigmaColumn } from '../reconstruct/report-text.js';
import { renderTable } from './format.js';

export interface ReconstructReport {
  readonly snapshot_dir: string;
  readonly time: number;
  readonly time_unit: string | null;
  readonly snapshots_used: number;
  readonly condition_number: number;
  readonly solver: string;
  /** `realised` when the snapshots' realised profiles (sparse ema-pytorch updates) were used. */
  readonly snapshot_profiles: 'nominal' | 'realised';
  readonly targets: ReadonlyArray<{
    /** power, exponential or window. */
    readonly kind: string;
    readonly target: string;
    /** Power targets only (null for the others). */
    readonly sigma_rel: number | null;
    readonly gamma: number | null;
    /** Standard deviation of tau / t under the target profile (sigma_rel for power targets). */
    readonly width: number;
    /** The profile in the snapshots' time unit: sigma_rel/gamma, half_life/rate/beta/beta_every, or window. */
    readonly parameters: Readonly<Record<string, number>>;
    readonly time: number;
    readonly snapshots_used: number;
    readonly fit_error: number;
    readonly sum_abs_coefficients: number;
    readonly output: string | null;
    readonly coefficients: ReadonlyArray<{ readonly file: string; readonly sigma_rel: number; readonly time: number; readonly coefficient: number }>;
  }>;
}

export function collectReconstructReport(dir: string, plan: ReconstructionPlan, outputs: readonly (string | null)[]): ReconstructReport {
  return {
    snapshot_dir: dir,
    time: plan.time,
    time_unit: plan.timeUnit ?? null,
    snapshots_used: plan.used.length,
    condition_number: plan.solution.condition,
    solver: plan.solution.method,
    snapshot_profiles: plan.realised ? 'realised' : 'nominal',
    targets: plan.summaries.map((summary, j) => ({
      kind: summary.kind,
      target: summary.label,
      sigma_rel: summary.kind === 'power' ? summary.sigmaRel : null,
      gamma: summary.kind === 'power' ? summary.gamma : null,
      width: summary.resolved.width,
      parameters: summary.resolved.parameters,
      time: summary.time,
      snapshots_used: summary.snapshotsUsed,
      fit_error: summary.fitError,
      sum_abs_coefficients: summary.sumAbsCoefficients,
      output: outputs[j],
      coefficients: plan.used.map((snapshot, i) => ({
        file: snapshot.path, sigma_rel: snapshot.sigmaRel, time: snapshot.time, coefficient: summary.coefficients[i],
      })),
    })),
  };
}

export function renderReconstructTable(report: ReconstructReport): string {
  const unit = report.time_unit ? ` (${report.time_unit}s)` : '';
  const tail = (t: ReconstructReport['targets'][number]): string[] => [
    String(t.time), String(t.snapshots_used), formatFitPercent(t.fit_error), t.sum_abs_coefficients.toFixed(2), t.output === null ? '-' : basename(t.output),
  ];
  const headers = [`time${unit}`, 'snapshots', 'fit error', 'sum|coef|', 'output'];
  const note = report.snapshot_profiles === 'realised' ? 'fit with the snapshots\' realised profiles (--update-every)\n' : '';
  if (report.targets.every((t) => t.kind === 'power')) {
    const sigmas = formatSigmaColumn(report.targets.map((t) => t.sigma_rel!));
    const rows = report.targets.map((t, i) => [sigmas[i], t.gamma!.toFixed(3), ...tail(t)]);
    return renderTable(['sigma_rel', 'gamma', ...headers], rows) + note;
  }
  // Several kinds: name each target as given, with its equivalent width (std of tau / t) to compare them.
  const rows = report.targets.map((t) => [t.target, formatSigma(t.width), ...tail(t)]);
  return renderTable(['target', 'width', ...headers], rows) + note;
}
