import type { SweepRecord } from './results-store.js';
import { latestByTarget } from './results-store.js';
import { roundSigmaRel } from './sigma-rel-key.js';

/**
 * The sweep's result: collectSweepReport() builds the data, renderSweepTable() and
 * renderSweepJson() turn it into text for stdout. Nothing here writes anywhere.
 */

/** A target as reported: its latest record, with the phase always stated. */
export interface SweepTarget extends Omit<SweepRecord, 'phase'> {
  readonly phase: 'grid' | 'refine';
}

export interface SweepBest {
  readonly sigma_rel: number;
  /** The swept number of targets other than power profiles (see SweepReport.axis). */
  readonly value?: number;
  readonly gamma: number;
  readonly time: number;
  readonly metric: number;
  readonly checkpoint: string | null;
}

export interface SweepReport {
  /** One per target (the latest record of each), sorted by sigma_rel then time. */
  readonly targets: SweepTarget[];
  /** The best successful metric; null when nothing was evaluated successfully. */
  readonly best: SweepBest | null;
  readonly maximize: boolean;
  /** What the targets are swept over: `sigma_rel`, or e.g. `half-life (% of the target time)`. */
  readonly axis: string;
}

/** A target's position on the sweep's axis: sigma_rel, or the number given for other kinds. */
export function axisValue(t: { readonly sigma_rel: number; readonly value?: number }): number {
  return t.value ?? t.sigma_rel;
}

export function collectSweepReport(records: readonly SweepRecord[], options: { maximize?: boolean } = {}): SweepReport {
  const maximize = options.maximize ?? false;
  const targets: SweepTarget[] = [...latestByTarget(records).values()]
    .map((r) => ({
      sigma_rel: roundSigmaRel(r.sigma_rel),
      gamma: r.gamma,
      time: r.time,
      fit_error: r.fit_error,
      metric: r.metric,
      checkpoint: r.checkpoint,
      status: r.status,
      reason: r.reason,
      phase: r.phase ?? 'grid',
      ...(r.kind === undefined ? {} : { kind: r.kind, value: r.value, axis: r.axis }),
      ...(r.status === 'failed' && r.stderr_tail ? { stderr_tail: r.stderr_tail } : {}),
    }))
    .sort((p, q) => axisValue(p) - axisValue(q) || p.time - q.time);
  let best: SweepBest | null = null;
  for (const t of targets) {
    if (t.status !== 'ok' || t.metric === null) continue;
    if (best === null || (maximize ? t.metric > best.metric : t.metric < best.metric)) {
      best = { sigma_rel: t.sigma_rel, ...(t.value === undefined ? {} : { value: t.value }), gamma: t.gamma, time: t.time, metric: t.metric, checkpoint: t.checkpoint };
    }
  }
  return { targets, best, maximize, axis: targets.find((t) => t.axis !== undefined)?.axis ?? 'sigma_rel' };
}

/** Exactly one JSON document; `extra` fields (e.g. pass statistics) are added at the top level. */
export function renderSweepJson(report: SweepReport, extra: Record<string, unknown> = {}): string {
  const document = { ...extra, maximize: report.maximize, targets: report.targets, best: report.best };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM=dumb. */
export function useColor(stream: { readonly isTTY?: boolean }, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream.isTTY === true;
}

export const formatSigmaRel = (x: number): string => String(roundSigmaRel(x));
export const formatGamma = (g: number): string => (!Number.isFinite(g) ? '-' : g >= 1000 ? g.toFixed(0) : g.toPrecision(4));
export const formatFitError = (e: number | null): string => (e === null ? '-' : e.toExponential(2));
/** Six significant digits, enough to tell neighbouring targets apart without float noise. */
export const formatMetric = (m: number | null): string => (m === null ? '-' : String(Number(m.toPrecision(6))));

const BOLD_GREEN = '\x1b[1;32m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

/** Human table plus a one-line summary of the best target. */
export function renderSweepTable(report: SweepReport, options: { color?: boolean } = {}): string {
  const color = options.color ?? false;
  const paint = (text: string, code: string): string => (color ? `${code}${text}${RESET}` : text);
  const showTime = new Set(report.targets.map((t) => t.time)).size > 1;
  const showPhase = report.targets.some((t) => t.phase === 'refine');
  const anyMetric = report.targets.some((t) => t.metric !== null);

  const power = report.axis === 'sigma_rel';
  const header = ['', report.axis, ...(power ? ['gamma'] : ['width']), ...(showTime ? ['time'] : []), 'fit error',
    ...(anyMetric ? ['metric'] : []), ...(showPhase ? ['step'] : []), 'status'];
  const isBest = (t: SweepTarget): boolean =>
    report.best !== null && axisValue(t) === axisValue(report.best) && t.time === report.best.time;
  const rows = report.targets.map((t) => [
    isBest(t) ? '*' : '',
    formatSigmaRel(axisValue(t)),
    power ? formatGamma(t.gamma) : formatSigmaRel(t.sigma_rel),
    ...(showTime ? [String(t.time)] : []),
    formatFitError(t.fit_error),
    ...(anyMetric ? [formatMetric(t.metric)] : []),
    ...(showPhase ? [t.phase] : []),
    t.status === 'ok' ? 'ok' : `failed: ${t.reason ?? 'unknown reason'}`,
  ]);
  // The status column is last and left unpadded, so long failure reasons do not widen the table.
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string =>
    cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ').trimEnd();

  const out = [line(header)];
  report.targets.forEach((t, i) => {
    let text = line(rows[i]);
    if (isBest(t)) text = paint(text, BOLD_GREEN);
    else if (t.status === 'failed') text = paint(text, RED);
    out.push(text);
  });
  out.push('');
  const failed = report.targets.filter((t) => t.status === 'failed').length;
  if (report.best !== null) {
    out.push(`best: ${power ? `sigma_rel ${formatSigmaRel(report.best.sigma_rel)} (gamma ${formatGamma(report.best.gamma)})` : `${report.axis} ${formatSigmaRel(axisValue(report.best))}`}, ` +
      `metric ${formatMetric(report.best.metric)} (${report.maximize ? 'higher' : 'lower'} is better)` +
      (report.best.checkpoint === null ? '' : `: ${report.best.checkpoint}`));
  } else if (anyMetric || failed > 0) {
    out.push('best: none (no evaluation succeeded)');
  }
  if (failed > 0) out.push(`${failed} of ${report.targets.length} targets failed`);
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}
