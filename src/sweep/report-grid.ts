/**
 * What a length x time grid and noisy metrics add to the sweep report: the best length at each
 * time, the runner-up and whether the best is distinguishable from it (repeat-stats.ts), and a
 * text grid (rows sigma_rel, columns time) for the terminal. Data for --json, text for the table;
 * nothing here writes anywhere.
 */
import { bestOf } from './cells.js';
import { isDistinguishable } from './repeat-stats.js';
import { formatFitError, formatMetric, formatMetricWithRepeats, type SweepReport, type SweepTarget } from './report.js';
import { axisLabel, axisName, axisValue } from './sweep-axis.js';

export interface CellBrief {
  readonly sigma_rel: number;
  /** The swept number, for targets other than power profiles. */
  readonly value?: number;
  readonly time: number;
  readonly metric: number;
  readonly metric_se?: number | null;
}

export interface GridSummary {
  readonly times: number[];
  /** The best length at each time (times where something was evaluated). */
  readonly best_per_time: CellBrief[];
  /** The second-best cell overall; null with fewer than two evaluated cells. */
  readonly runner_up: CellBrief | null;
  /** Whether best and runner-up differ by more than two standard errors; null without standard errors. */
  readonly distinguishable: boolean | null;
}

const brief = (t: SweepTarget): CellBrief => ({
  sigma_rel: t.sigma_rel, ...(t.value === undefined ? {} : { value: t.value }), time: t.time, metric: t.metric!, ...(t.repeats === undefined ? {} : { metric_se: t.metric_se ?? null }),
});

export function gridSummary(report: SweepReport): GridSummary {
  const times = [...new Set(report.targets.map((t) => t.time))].sort((a, b) => a - b);
  const bestPerTime = times.flatMap((time) => {
    const best = bestOf(report.targets.filter((t) => t.time === time), report.maximize);
    return best === undefined ? [] : [brief(best)];
  });
  const best = report.best === null ? undefined
    : report.targets.find((t) => axisValue(t) === axisValue(report.best!) && t.time === report.best!.time);
  const runnerUp = best === undefined ? undefined : bestOf(report.targets.filter((t) => t !== best), report.maximize);
  const estimate = (t: SweepTarget) => ({ mean: t.metric!, se: t.metric_se ?? null, n: t.repeats ?? 1 });
  const distinguishable = best === undefined || runnerUp === undefined || best.repeats === undefined ? null
    : isDistinguishable(estimate(best), estimate(runnerUp));
  return { times, best_per_time: bestPerTime, runner_up: runnerUp === undefined ? null : brief(runnerUp), distinguishable };
}

/** Lines after the table: the grid (when several times), the best length per time, distinguishability. */
export function renderGridText(report: SweepReport, summary: GridSummary = gridSummary(report)): string {
  const out: string[] = [];
  if (summary.times.length > 1) {
    out.push(...renderMatrix(report, summary.times), '');
    out.push(`best ${axisName(report.axis)} at each time:`);
    for (const b of summary.best_per_time) out.push(`  time ${b.time}: ${axisLabel(report.axis, axisValue(b))} (metric ${formatMetricWithRepeats(cellOf(report, b)!)})`);
  }
  if (report.best !== null && summary.runner_up !== null && summary.distinguishable !== null) {
    const r = summary.runner_up;
    const where = `${axisLabel(report.axis, axisValue(r))}${summary.times.length > 1 ? ` at time ${r.time}` : ''}`;
    out.push(summary.distinguishable
      ? `the best is distinguishable from the runner-up (${where}, metric ${formatMetricWithRepeats(cellOf(report, r)!)}): their means differ by more than two standard errors`
      : `note: the best is NOT distinguishable from the runner-up (${where}, metric ${formatMetricWithRepeats(cellOf(report, r)!)}): ` +
        'their means lie within two standard errors; more repeats (--repeat) would tell them apart');
  }
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

function cellOf(report: SweepReport, b: CellBrief): SweepTarget | undefined {
  return report.targets.find((t) => axisValue(t) === axisValue(b) && t.time === b.time);
}

/** Rows the swept number (sigma_rel), columns time; the metric in each cell (fit error when nothing was evaluated), best starred. */
function renderMatrix(report: SweepReport, times: readonly number[]): string[] {
  const byMetric = report.targets.some((t) => t.metric !== null);
  const sigmas = [...new Set(report.targets.map(axisValue))].sort((a, b) => a - b);
  const text = (t: SweepTarget | undefined): string => {
    if (t === undefined) return '';
    if (t.status === 'failed') return 'failed';
    const value = byMetric ? formatMetric(t.metric) : formatFitError(t.fit_error);
    const best = report.best !== null && axisValue(t) === axisValue(report.best) && t.time === report.best.time;
    return best ? `*${value}` : value;
  };
  const header = [`${byMetric ? 'metric' : 'fit error'} by ${axisName(report.axis)} \\ time`, ...times.map(String)];
  const rows = sigmas.map((s) => [String(Number(s.toPrecision(6))), ...times.map((time) => text(report.targets.find((t) => axisValue(t) === s && t.time === time)))]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  return [header, ...rows].map((cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
}
