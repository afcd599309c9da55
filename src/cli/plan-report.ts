/** `ema-synth plan`'s report: the cadence table(s) as text, or as one JSON document. */
import type { CadenceRow, CadenceSpec, CadenceTable, TrackedProfile } from '../plan/cadence-plan.js';
import { compareSpacings } from '../plan/cadence-plan.js';
import { formatSigma } from '../reconstruct/report-text.js';
import { formatBytes, formatPercent, renderTable } from './format.js';

export interface PlanReport {
  readonly duration: number;
  readonly start: number;
  readonly timeUnit: string | null;
  readonly from: string | null;
  readonly cadenceSoFar: number | null;
  readonly batch: number;
  readonly spec: Omit<CadenceSpec, 'tracked'>;
  readonly tables: ReadonlyArray<{ readonly tracked: readonly TrackedProfile[]; readonly table: CadenceTable }>;
}

export function planJson(report: PlanReport): unknown {
  const { spec } = report;
  return {
    duration: report.duration, start: report.start, time_unit: report.timeUnit, from: report.from, cadence_so_far: report.cadenceSoFar,
    batch: report.batch, targets: spec.targets.map((t) => t.sigmaRel), times: spec.times, spacing: spec.spacing,
    snapshot_bytes: spec.snapshotBytes ?? null, budget_bytes: spec.budgetBytes ?? null, max_fit_error: spec.maxFitError,
    tables: report.tables.map(({ tracked, table }) => ({
      profiles: tracked.map((p) => p.sigmaRel),
      cheapest: table.cheapest ?? null,
      recommendation: table.cheapest === undefined ? null : recommendation(report, tracked, table.rows[table.cheapest]),
      spacing_comparison: spec.spacing === 'geometric' ? compareSpacings(table) : null,
      rows: table.rows.map((row) => ({
        every: row.label, spacing: row.spacing, interval: row.interval, snapshots: row.snapshots, bytes: row.bytes, new_times: row.newTimes,
        worst_fit_error: Number.isFinite(row.worst) ? row.worst : null, within_error: row.withinError, within_budget: row.withinBudget,
        per_time: row.perTime.map((t) => ({ requested: t.requested, time: t.time, worst: t.worst, median: t.median, worst_sigma_rel: t.worstSigmaRel })),
      })),
    })),
  };
}

export function renderPlan(report: PlanReport): string {
  const { spec } = report;
  const unit = report.timeUnit ?? 'images';
  const lines: string[] = [];
  const what = report.from === null
    ? `run of ${report.duration.toLocaleString('en-US')} ${unit}`
    : `rest of the run in ${report.from}: from ${report.start.toLocaleString('en-US')} to ${report.duration.toLocaleString('en-US')} ${unit} (cadence so far ${report.cadenceSoFar ?? '-'}, ${spec.existing.length} snapshots on disk)`;
  lines.push(`plan for a ${what}; ${spec.targets.length} targets sigma_rel ${formatSigma(spec.targets[0].sigmaRel)} to ${formatSigma(spec.targets[spec.targets.length - 1].sigmaRel)}; fit error at most ${formatPercent(spec.maxFitError, 2)}${spec.budgetBytes === undefined ? '' : `, disk at most ${formatBytes(spec.budgetBytes)}`}`);
  lines.push('fit errors are worst/median over the targets, at the latest snapshot at or before each time');
  for (const { tracked, table } of report.tables) {
    lines.push('', `tracked sigma_rel ${tracked.map((p) => formatSigma(p.sigmaRel)).join(', ')}:`);
    lines.push(renderTable(headers(report), table.rows.map((row, index) => cells(row, index === table.cheapest, spec.spacing === 'geometric'))));
    if (spec.spacing === 'geometric') {
      const { cadences, geometric_better: geometricBetter } = compareSpacings(table);
      lines.push(`geometric spacing (same snapshot count, gaps shrinking 4x towards the end) has the smaller worst error in ${geometricBetter} of ${cadences} cadences; ${geometricBetter * 2 > cadences ? 'it beats' : 'it does not beat'} uniform spacing for the same disk here.`);
    }
    lines.push(...advice(report, tracked, table));
  }
  lines.push(...acrossSets(report));
  return `${lines.join('\n').trimEnd()}\n`;
}

function headers(report: PlanReport): string[] {
  const times = report.spec.times.map((t) => `${+(100 * t / report.duration).toFixed(2)}%`);
  return ['every', ...(report.spec.spacing === 'geometric' ? ['spacing'] : []), 'interval', 'snapshots', 'disk', ...times.map((t) => `@${t}`), ''];
}

function cells(row: CadenceRow, cheapest: boolean, showSpacing: boolean): string[] {
  const mark = cheapest ? '<- cheapest' : !row.withinError ? '' : !row.withinBudget ? 'over budget' : 'ok';
  return [
    row.label, ...(showSpacing ? [row.spacing] : []),
    row.spacing === 'uniform' ? String(row.interval) : '-', String(row.snapshots), row.bytes === null ? '-' : formatBytes(row.bytes),
    ...row.perTime.map((t) => (t.worst === null ? 'no snapshot' : `${formatPercent(t.worst, 3)}/${formatPercent(t.median!, 3)}`)), mark,
  ];
}

function advice(report: PlanReport, tracked: readonly TrackedProfile[], table: CadenceTable): string[] {
  if (table.cheapest !== undefined) {
    const r = recommendation(report, tracked, table.rows[table.cheapest]);
    return [`cheapest within bounds: ${r.summary}`, ...r.lines.map((line) => `  ${line}`)];
  }
  const bound = formatPercent(report.spec.maxFitError, 2);
  const describe = (row: CadenceRow): string => `every ${row.label}${row.spacing === 'geometric' ? ', geometric' : ''}`;
  const withinError = table.rows.filter((r) => r.withinError);
  if (withinError.length > 0) {
    const cheapest = withinError.reduce((a, b) => (b.snapshots < a.snapshots ? b : a));
    const affordable = table.rows.filter((r) => r.withinBudget);
    const best = affordable.length === 0 ? undefined : affordable.reduce((a, b) => (b.worst < a.worst ? b : a));
    return [`no cadence keeps every target within ${bound} and the disk budget: the cheapest within ${bound} (${describe(cheapest)}) needs ${formatBytes(cheapest.bytes ?? 0)}` +
      (best === undefined ? '.' : `; within the budget the smallest worst error is ${formatPercent(best.worst, 3)} (${describe(best)}).`)];
  }
  const best = table.rows.reduce((a, b) => (b.worst < a.worst ? b : a));
  const worstTime = best.perTime.reduce((a, b) => ((b.worst ?? Infinity) > (a.worst ?? Infinity) ? b : a));
  return [`no cadence keeps every target within ${bound} fit error: the smallest worst error is ${formatPercent(best.worst, 3)} (${describe(best)}), set by sigma_rel ${formatSigma(worstTime.worstSigmaRel ?? 0)} at time ${worstTime.time}.`,
    'denser cadences than listed (--every), other tracked profiles (--compare-profiles), fewer or nearer targets, or a larger --max-fit-error would help.'];
}

/** With --compare-profiles: which tracked set needs the least disk. */
function acrossSets(report: PlanReport): string[] {
  const chosen = report.tables.flatMap(({ tracked, table }) => (table.cheapest === undefined ? [] : [{ tracked, row: table.rows[table.cheapest] }]));
  if (report.tables.length < 2 || chosen.length === 0) return [];
  const best = chosen.reduce((a, b) => (b.row.snapshots < a.row.snapshots || (b.row.snapshots === a.row.snapshots && b.row.worst < a.row.worst) ? b : a));
  return [`across the ${report.tables.length} tracked sets, the cheapest is sigma_rel ${best.tracked.map((p) => formatSigma(p.sigmaRel)).join(', ')}: every ${best.row.label}, ${best.row.snapshots} snapshots, worst fit error ${formatPercent(best.row.worst, 3)}`];
}

function recommendation(report: PlanReport, tracked: readonly TrackedProfile[], row: CadenceRow): { summary: string; lines: string[]; flags: string | null } {
  const sigmas = tracked.map((p) => formatSigma(p.sigmaRel)).join(',');
  const disk = row.bytes === null ? '' : `, ${formatBytes(row.bytes)}`;
  const summary = `every ${row.label}${row.spacing === 'geometric' ? ' (geometric spacing, same count)' : ` = ${row.interval} ${report.timeUnit ?? 'images'}`}: ${row.snapshots} snapshots${disk}, worst fit error ${formatPercent(row.worst, 3)}`;
  if (row.spacing === 'geometric') {
    return { summary, flags: null, lines: [
      'ema-synth train snapshots at a fixed interval only; in a PyTorch loop (README, "Producing snapshots"):',
      `snapshot_times = {${row.newTimes.join(', ')}}`,
      'if images in snapshot_times:   # instead of images % snapshot_every == 0',
    ] };
  }
  const flags = `--snapshot-every ${row.interval} --ema-sigma-rel ${sigmas}`;
  return { summary, flags, lines: [
    `ema-synth train ${flags}${report.batch === 1 ? '   (the interval must be a multiple of the batch: see --batch)' : ''}`,
    'in a PyTorch loop (README, "Producing snapshots"):',
    `emas = [${tracked.map((p) => `PowerEma(net, ${formatSigma(p.sigmaRel)})`).join(', ')}]`,
    `snapshot_every = ${row.interval}`,
  ] };
}
