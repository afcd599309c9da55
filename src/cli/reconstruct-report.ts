/**
 * What `reconstruct` reports: one row per target, or one JSON document with every coefficient.
 * collect* builds plain data; render* turns it into text.
 */
import { basename } from 'node:path';
import type { ReconstructionPlan } from '../reconstruct/plan.js';
import { formatFitPercent, formatSigmaColumn } from '../reconstruct/report-text.js';
import { renderTable } from './format.js';

export interface ReconstructReport {
  readonly snapshot_dir: string;
  readonly time: number;
  readonly time_unit: string | null;
  readonly snapshots_used: number;
  readonly condition_number: number;
  readonly solver: string;
  readonly targets: ReadonlyArray<{
    readonly sigma_rel: number;
    readonly gamma: number;
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
    targets: plan.summaries.map((summary, j) => ({
      sigma_rel: summary.sigmaRel,
      gamma: summary.gamma,
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
  const sigmas = formatSigmaColumn(report.targets.map((t) => t.sigma_rel));
  const rows = report.targets.map((t, i) => [
    sigmas[i],
    t.gamma.toFixed(3),
    String(t.time),
    String(t.snapshots_used),
    formatFitPercent(t.fit_error),
    t.sum_abs_coefficients.toFixed(2),
    t.output === null ? '-' : basename(t.output),
  ]);
  const unit = report.time_unit ? ` (${report.time_unit}s)` : '';
  return renderTable(['sigma_rel', 'gamma', `time${unit}`, 'snapshots', 'fit error', 'sum|coef|', 'output'], rows);
}
