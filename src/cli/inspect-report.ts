/** Renders an Inspection as readable text (the JSON form is the Inspection itself). */
import type { Inspection } from '../inspect/inspect-snapshots.js';
import { isPoorFit, POOR_FIT_NOTE } from '../reconstruct/fit-warnings.js';
import { formatFitPercent, formatSigma, formatSigmaColumn } from '../reconstruct/report-text.js';
import { formatBytes, renderTable } from './format.js';

export function renderInspection(inspection: Inspection): string {
  const unit = inspection.time_unit ? ` ${inspection.time_unit}s` : '';
  const tracked = formatSigmaColumn(inspection.profiles.map((p) => p.sigma_rel));
  const anyPoor = inspection.fit.some((f) => isPoorFit(f.fit_error));
  const dtypes = Object.entries(inspection.dtypes).map(([dtype, n]) => `${n} ${dtype}`).join(', ');
  const realised = inspection.snapshot_profiles === 'realised';
  const profileRow = (p: Inspection['profiles'][number], i: number): string[] => [
    tracked[i], ...(realised ? [p.realised_sigma_rel!.toFixed(4)] : []), p.gamma.toFixed(3),
    String(p.snapshots), String(p.first_time), String(p.last_time), p.cadence === null ? '-' : String(p.cadence),
  ];
  const lines = [
    `${inspection.snapshot_dir}: ${inspection.snapshots} snapshots, ${formatBytes(inspection.bytes_on_disk)} on disk`,
    `time ${inspection.first_time} to ${inspection.last_time}${unit}`,
    `${inspection.tensors} tensors (${dtypes}), ${inspection.parameters.toLocaleString('en-US')} floating-point values per snapshot`,
    ...pickleLines(inspection),
    '',
    renderTable(['tracked sigma_rel', ...(realised ? ['realised'] : []), 'gamma', 'snapshots', 'first', 'last', 'cadence'], inspection.profiles.map(profileRow)),
    `fit at time ${inspection.fit_at_time}${unit}${realised ? ' with the realised profiles (--update-every)' : ''} (Gram matrix condition number ${inspection.condition_number.toExponential(2)}):`,
    renderFitTable(inspection.fit),
    ...(anyPoor ? [POOR_FIT_NOTE, ''] : []),
  ];
  return lines.join('\n');
}

/** Power targets by sigma_rel and gamma; any other kind present: by label and equivalent width. */
function renderFitTable(fit: Inspection['fit']): string {
  const tail = (f: Inspection['fit'][number]): string[] => [
    formatFitPercent(f.fit_error), f.sum_abs_coefficients.toFixed(2), isPoorFit(f.fit_error) ? 'poor fit' : '',
  ];
  if (fit.every((f) => f.kind === 'power')) {
    const sigmas = formatSigmaColumn(fit.map((f) => f.sigma_rel!));
    return renderTable(['sigma_rel', 'gamma', 'fit error', 'sum|coef|', 'warning'], fit.map((f, i) => [sigmas[i], f.gamma!.toFixed(3), ...tail(f)]));
  }
  return renderTable(['target', 'width', 'fit error', 'sum|coef|', 'warning'], fit.map((f) => [f.target, formatSigma(f.width), ...tail(f)]));
}

/** EDM2 pickles: the other entries and the classes whose source the file carries (and Python would run). */
function pickleLines(inspection: Inspection): string[] {
  const pickle = inspection.pickle;
  if (pickle === undefined) return [];
  const classes = pickle.persistent_classes.map((c) => `${c.class_name} (${c.source_bytes} bytes, sha256 ${c.source_sha256.slice(0, 12)})`);
  return [
    `EDM2 pickle: network ${JSON.stringify(pickle.network_key)}; other keys: ${pickle.other_keys.map((k) => `${k.key} (${k.description})`).join(', ') || 'none'}`,
    `persistent classes (source stored in the file, never run): ${classes.join(', ') || 'none'}`,
  ];
}
