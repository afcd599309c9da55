import type { CellSummary } from './cells.js';
import { latestByTarget } from './results-store.js';
import { roundSigmaRel } from './sigma-rel-key.js';
import { beyondEdge, edgeOf } from './grid-edge.js';
import { axisLabel, axisName, axisValue } from './sweep-axis.js';
import { isPoorFit, POOR_FIT_NOTE } from '../reconstruct/fit-warnings.js';
import { formatFitPercent, formatSigmaColumn } from '../reconstruct/report-text.js';

/**
 * The sweep's result: collectSweepReport() builds the data, renderSweepTable() and
 * renderSweepJson() turn it into text for stdout. Nothing here writes anywhere.
 */

/** A target as reported: its latest record, with the phase always stated. */
export interface SweepTarget extends Omit<CellSummary, 'phase' | 'seed' | 'attempts'> {
  readonly phase: 'grid' | 'refine';
  /** Fit error above 5%: the checkpoint is not the EMA asked for (reconstruct warns for it). */
  readonly poor_fit: boolean;
}

export interface SweepBest {
  readonly sigma_rel: number;
  /** The swept number of targets other than power profiles (see SweepReport.axis). */
  readonly value?: number;
  readonly gamma: number;
  readonly time: number;
  readonly metric: number;
  readonly checkpoint: string | null;
  readonly poor_fit: boolean;
  /**
   * 'lower' or 'upper' when the best is the narrowest or widest target evaluated successfully: the
   * optimum may lie outside the grid. null when it has evaluated neighbours on both sides.
   */
  readonly at_edge: 'lower' | 'upper' | null;
  /**
   * With at_edge: the next grid step beyond the edge and its fit error, which says whether
   * extending the grid there can help (null when that step is no valid target, e.g. leaves
   * (0, 0.2887), or is not known). `sigma_rel` for power sweeps, else `value` on the sweep's axis.
   */
  readonly beyond_edge: { readonly sigma_rel: number; readonly fit_error: number } | { readonly value: number; readonly fit_error: number } | null;
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

export { axisValue };

export interface ReportOptions {
  readonly maximize?: boolean;
  /** Fit error of a target outside the grid at `time`, to say what lies beyond the grid's edge. */
  readonly fitErrorAt?: (sigmaRel: number, time: number) => number | undefined;
}

export function collectSweepReport(records: readonly CellSummary[], options: ReportOptions = {}): SweepReport {
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
      poor_fit: isPoorFit(r.fit_error),
      ...(r.kind === undefined ? {} : { kind: r.kind, value: r.value, axis: r.axis }),
      ...(r.metrics === undefined ? {} : { metrics: r.metrics }),
      ...(r.repeats === undefined ? {} : { metric_se: r.metric_se ?? null, repeats: r.repeats }),
      ...(r.status === 'failed' && r.stderr_tail ? { stderr_tail: r.stderr_tail } : {}),
    }))
    .sort((p, q) => axisValue(p) - axisValue(q) || p.time - q.time);
  let winner: SweepTarget | undefined;
  for (const t of targets) {
    if (t.status !== 'ok' || t.metric === null) continue;
    if (winner === undefined || (maximize ? t.metric > winner.metric! : t.metric < winner.metric!)) winner = t;
  }
  const atEdge = winner === undefined ? null : edgeOf(winner, targets);
  const best: SweepBest | null = winner === undefined ? null : {
    sigma_rel: winner.sigma_rel, ...(winner.value === undefined ? {} : { value: winner.value }), gamma: winner.gamma, time: winner.time,
    metric: winner.metric!, checkpoint: winner.checkpoint,
    poor_fit: winner.poor_fit, at_edge: atEdge, beyond_edge: atEdge === null ? null : beyondEdge(winner, atEdge, targets, options.fitErrorAt),
  };
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
/** Fit errors in percent, as in every human-readable output (JSON keeps the fraction). */
export const formatFitError = (e: number | null): string => (e === null ? '-' : formatFitPercent(e));
/** Six significant digits, enough to tell neighbouring targets apart without float noise. */
export const formatMetric = (m: number | null): string => (m === null ? '-' : String(Number(m.toPrecision(6))));
/** With --repeat: the mean, its standard error and how many repeats it averages. */
export const formatMetricWithRepeats = (t: Pick<SweepTarget, 'metric' | 'metric_se' | 'repeats'>): string =>
  t.metric === null || t.repeats === undefined ? formatMetric(t.metric) : `${formatMetric(t.metric)}${t.metric_se == null ? '' : ` ± ${Number(t.metric_se.toPrecision(2))}`} (n=${t.repeats})`;

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
  const anyPoor = report.targets.some((t) => t.poor_fit);
  const power = report.axis === 'sigma_rel';
  // The swept numbers with the grid's decimals; other kinds show their equivalent width beside them.
  const values = formatSigmaColumn(report.targets.map(axisValue), report.targets.filter((t) => t.phase === 'grid').map(axisValue));

  const header = ['', report.axis, power ? 'gamma' : 'width', ...(showTime ? ['time'] : []), 'fit error',
    ...(anyPoor ? ['warning'] : []), ...(anyMetric ? ['metric'] : []), ...(showPhase ? ['step'] : []), 'status'];
  const isBest = (t: SweepTarget): boolean =>
    report.best !== null && axisValue(t) === axisValue(report.best) && t.time === report.best.time;
  const rows = report.targets.map((t, i) => [
    isBest(t) ? '*' : '',
    values[i],
    power ? formatGamma(t.gamma) : formatSigmaRel(t.sigma_rel),
    ...(showTime ? [String(t.time)] : []),
    formatFitError(t.fit_error),
    ...(anyPoor ? [t.poor_fit ? 'poor fit' : ''] : []),
    ...(anyMetric ? [formatMetricWithRepeats(t)] : []),
    ...(showPhase ? [t.phase] : []),
    t.status === 'ok' ? 'ok' : `failed: ${failureText(t)}`,
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
    out.push(`best: ${power ? `sigma_rel ${formatSigmaRel(report.best.sigma_rel)} (gamma ${formatGamma(report.best.gamma)})` : axisLabel(report.axis, axisValue(report.best))}, ` +
      `metric ${formatMetric(report.best.metric)} (${report.maximize ? 'higher' : 'lower'} is better)` +
      (report.best.checkpoint === null ? '' : `: ${report.best.checkpoint}`));
  } else if (anyMetric || failed > 0) {
    out.push('best: none (no evaluation succeeded)');
  }
  if (report.best !== null) out.push(...bestNotes(report.best, report.targets, report.axis));
  if (failed > 0) out.push(`${failed} of ${report.targets.length} targets failed`);
  if (anyPoor) out.push(POOR_FIT_NOTE);
  return `${out.join('\n').replace(/\n+$/, '')}\n`;
}

/** The reason and the last line its command wrote on stderr (the warnings show a few more). */
function failureText(t: SweepTarget): string {
  const reason = t.reason ?? 'unknown reason';
  const last = t.stderr_tail?.trimEnd().split('\n').pop()?.trim();
  if (!last) return reason;
  return `${reason}: ${last.length > 100 ? `${last.slice(0, 99)}…` : last}`;
}

/** What the best row alone does not say: it lies at the grid's edge, or it fits poorly. */
function bestNotes(best: SweepBest, targets: readonly SweepTarget[], axis: string): string[] {
  const label = axisLabel(axis, axisValue(best));
  const fit = targets.find((t) => axisValue(t) === axisValue(best) && t.time === best.time)?.fit_error ?? null;
  const notes: string[] = [];
  if (best.at_edge !== null) {
    const side = best.at_edge === 'lower' ? 'narrowest' : 'widest';
    const beyond = best.at_edge === 'lower' ? 'below' : 'above';
    const next = best.beyond_edge;
    const reach = `tracking a ${best.at_edge === 'lower' ? 'narrower' : 'wider'} profile during training would reach it`;
    const nextLabel = next === null ? '' : axisLabel(axis, 'sigma_rel' in next ? next.sigma_rel : next.value);
    const inspect = axis === 'sigma_rel' ? '`ema-synth inspect` shows which sigma_rel the snapshots fit well'
      : `\`ema-synth inspect --${axisName(axis)} LIST\` shows how well the snapshots fit each`;
    notes.push(best.poor_fit
      ? `note: the best, ${label}, is the ${side} EMA evaluated and already fits poorly (fit error ${formatFitError(fit)}): ` +
        `the optimum may lie ${beyond} it, where these snapshots fit worse still; ${reach}`
      : `note: the best, ${label}, lies at the ${best.at_edge} edge of the grid: the optimum may lie ${beyond} it; ` +
        (next === null ? `extend the grid (${inspect})`
          : isPoorFit(next.fit_error) ? `but these snapshots cannot go much further: ${nextLabel} would fit poorly (fit error ${formatFitError(next.fit_error)}); ${reach}`
          : `extend the grid: ${nextLabel} still fits well (fit error ${formatFitError(next.fit_error)})`));
  } else if (best.poor_fit) {
    notes.push(`note: the best, ${label}, fits poorly (fit error ${formatFitError(fit)}): its metric is that of a different average than the EMA asked for`);
  }
  return notes;
}
