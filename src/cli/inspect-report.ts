/** Renders an Inspection as readable text (the JSON form is the Inspection itself). */
import type { Inspection } from '../inspect/inspect-snapshots.js';
import { formatSigma, LARGE_FIT_ERROR } from '../reconstruct/fit-warnings.js';
import { formatBytes, formatPercent, renderTable } from './format.js';

export function renderInspection(inspection: Inspection): string {
  const unit = inspection.time_unit ? ` ${inspection.time_unit}s` : '';
  const dtypes = Object.entries(inspection.dtypes).map(([dtype, n]) => `${n} ${dtype}`).join(', ');
  const lines = [
    `${inspection.snapshot_dir}: ${inspection.snapshots} snapshots, ${formatBytes(inspection.bytes_on_disk)} on disk`,
    `time ${inspection.first_time} to ${inspection.last_time}${unit}`,
    `${inspection.tensors} tensors (${dtypes}), ${inspection.parameters.toLocaleString('en-US')} floating-point values per snapshot`,
    '',
    renderTable(['tracked sigma_rel', 'gamma', 'snapshots', 'first', 'last', 'cadence'], inspection.profiles.map((p) => [
      formatSigma(p.sigma_rel), p.gamma.toFixed(3), String(p.snapshots), String(p.first_time), String(p.last_time), p.cadence === null ? '-' : String(p.cadence),
    ])),
    `fit at time ${inspection.fit_at_time}${unit} (Gram matrix condition number ${inspection.condition_number.toExponential(2)}):`,
    renderTable(['sigma_rel', 'gamma', 'fit error', 'sum|coef|', ''], inspection.fit.map((f) => [
      formatSigma(f.sigma_rel), f.gamma.toFixed(3), formatPercent(f.fit_error, 3), f.sum_abs_coefficients.toFixed(2), f.fit_error > LARGE_FIT_ERROR ? 'poor' : '',
    ])),
  ];
  return lines.join('\n');
}
