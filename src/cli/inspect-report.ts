/** Renders an Inspection as readable text (the JSON form is the Inspection itself). */
import type { Inspection } from '../inspect/inspect-snapshots.js';
import { formatSigma, LARGE_FIT_ERROR } from '../reconstruct/fit-warnings.js';
import { formatBytes, formatPercent, renderTable } from './format.js';

export function renderInspection(inspection: Inspection): string {
  const unit = inspection.time_unit ? ` ${inspection.time_unit}s` : '';
  const dtypes = Object.entries(inspection.dtypes).map(([dtype, n]) => `${n} ${dtype}`).join(', ');
  const realised = inspection.snapshot_profiles === 'realised';
  const lines = [
    `${inspection.snapshot_dir}: ${inspection.snapshots} snapshots, ${formatBytes(inspection.bytes_on_disk)} on disk`,
    `time ${inspection.first_time} to ${inspection.last_time}${unit}`,
    `${inspection.tensors} tensors (${dtypes}), ${inspection.parameters.toLocaleString('en-US')} floating-point values per snapshot`,
    '',
    realised ? renderTable(['tracked sigma_rel', 'realised', 'gamma', 'snapshots', 'first', 'last', 'cadence'], inspection.profiles.map((p) => [
      formatSigma(p.sigma_rel), p.realised_sigma_rel!.toFixed(4), p.gamma.toFixed(3), String(p.snapshots), String(p.first_time), String(p.last_time), p.cadence === null ? '-' : String(p.cadence),
    ])) : renderTable(['tracked sigma_rel', 'gamma', 'snapshots', 'first', 'last', 'cadence'], inspection.profiles.map((p) => [
      formatSigma(p.sigma_rel), p.gamma.toFixed(3), String(p.snapshots), String(p.first_time), String(p.last_time), p.cadence === null ? '-' : String(p.cadence),
    ])),
    `fit at time ${inspection.fit_at_time}${unit}${realised ? ' with the realised profiles (--update-every)' : ''} (Gram matrix condition number ${inspection.condition_number.toExponential(2)}):`,
    renderFitTable(inspection.fit),
  ];
  return lines.join('\n');
}

function renderFitTable(fit: Inspection['fit']): string {
  const tail = (f: Inspection['fit'][number]): string[] => [formatPercent(f.fit_error, 3), f.sum_abs_coefficients.toFixed(2), f.fit_error > LARGE_FIT_ERROR ? 'poor' : ''];
  if (fit.every((f) => f.kind === 'power')) {
    return renderTable(['sigma_rel', 'gamma', 'fit error', 'sum|coef|', ''], fit.map((f) => [formatSigma(f.sigma_rel!), f.gamma!.toFixed(3), ...tail(f)]));
  }
  return renderTable(['target', 'width', 'fit error', 'sum|coef|', ''], fit.map((f) => [f.target, formatSigma(f.width), ...tail(f)]));
}
