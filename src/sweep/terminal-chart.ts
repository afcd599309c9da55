import { LARGE_FIT_ERROR } from '../reconstruct/fit-warnings.js';
import { formatTick, niceTicks } from './nice-ticks.js';
import { formatMetric, type SweepReport } from './report.js';
import { axisLabel, axisValue } from './sweep-axis.js';

/**
 * A terminal chart of the sweep: metric against sigma_rel (fit error, on a log scale, when nothing
 * was evaluated), measured points marked, the best point starred, failed targets crossed on the
 * x axis. Our own small renderer: asciichart (checked on Node 20) spaces values evenly and has no
 * markers, while sweep points are unevenly spaced (refinement clusters them near the optimum) and
 * the best one must stand out.
 */

export interface TerminalChartOptions {
  /** Plot columns (default 60) and rows (default 12), axes and labels not included. */
  readonly width?: number;
  readonly height?: number;
  readonly color?: boolean;
  /** Plain ASCII instead of box-drawing characters, for terminals without Unicode. */
  readonly ascii?: boolean;
}

const UNICODE = { point: '●', poor: '○', best: '★', failed: '×', line: '·', tickY: '┤', axisY: '│', corner: '└', axisX: '─', tickX: '┬' };
const ASCII = { point: 'o', poor: '?', best: '*', failed: 'x', line: '.', tickY: '+', axisY: '|', corner: '+', axisX: '-', tickX: '+' };

/** The chart as text ending in a newline, or '' when there is nothing to plot. */
export function renderSweepChart(report: SweepReport, options: TerminalChartOptions = {}): string {
  const width = Math.max(10, options.width ?? 60);
  const height = Math.max(3, options.height ?? 12);
  const glyph = options.ascii ? ASCII : UNICODE;
  const paint = (text: string, code: string): string => (options.color ? `\x1b[${code}m${text}\x1b[0m` : text);

  // A failed target means evaluation was asked for: the chart is about the metric even if none came.
  const byMetric = report.targets.some((t) => (t.status === 'ok' && t.metric !== null) || t.status === 'failed');
  const measured = report.targets
    // Fit errors in percent, as in the table.
    .map((t) => ({ x: axisValue(t), value: byMetric ? t.metric : t.fit_error === null ? null : t.fit_error * 100, target: t }))
    .filter((p): p is typeof p & { value: number } => p.target.status === 'ok' && p.value !== null);
  const logScale = !byMetric && measured.length > 0 && measured.every((p) => p.value > 0);
  const points = measured.map((p) => ({ ...p, y: logScale ? Math.log10(p.value) : p.value }));
  const failed = report.targets.filter((t) => t.status === 'failed');
  if (points.length === 0 && failed.length === 0) return '';

  const xs = [...points.map((p) => p.x), ...failed.map((t) => axisValue(t))];
  const [x0, x1] = widen(Math.min(...xs), Math.max(...xs));
  const ys = points.map((p) => p.y);
  const [y0, y1] = ys.length > 0 ? widen(Math.min(...ys), Math.max(...ys)) : [0, 1];
  const colOf = (x: number): number => Math.round(((x - x0) / (x1 - x0)) * (width - 1));
  const rowOf = (y: number): number => Math.round(((y1 - y) / (y1 - y0)) * (height - 1));

  const cells: string[][] = Array.from({ length: height }, () => new Array<string>(width).fill(' '));
  for (let i = 1; i < points.length; i++) {
    const [a, b] = [points[i - 1], points[i]];
    const [ca, ra, cb, rb] = [colOf(a.x), rowOf(a.y), colOf(b.x), rowOf(b.y)];
    const steps = 2 * Math.max(Math.abs(cb - ca), Math.abs(rb - ra));
    for (let s = 1; s < steps; s++) {
      const t = s / steps;
      cells[Math.round(ra + t * (rb - ra))][Math.round(ca + t * (cb - ca))] = glyph.line;
    }
  }
  const isBest = (p: (typeof points)[number]): boolean =>
    byMetric && report.best !== null && p.x === axisValue(report.best) && p.target.time === report.best.time;
  for (const p of points) cells[rowOf(p.y)][colOf(p.x)] = p.target.poor_fit ? glyph.poor : glyph.point;
  for (const p of points.filter(isBest)) cells[rowOf(p.y)][colOf(p.x)] = paint(glyph.best, '1;32');

  // y axis: labels at nice ticks, on the row each falls in.
  let yTicks = niceTicks(y0, y1, Math.min(5, height)).filter((t) => t >= y0 && t <= y1);
  // On a log scale, whole decades read best whenever at least two fall in range.
  if (logScale && yTicks.filter(Number.isInteger).length >= 2) yTicks = yTicks.filter(Number.isInteger);
  const labelOf = (t: number): string => formatTick(logScale ? 10 ** t : t);
  const labels = new Map(yTicks.map((t) => [rowOf(t), labelOf(t)]));
  const gutter = Math.max(...[...labels.values()].map((l) => l.length), 1);

  const out: string[] = [];
  const what = byMetric ? `metric (${report.maximize ? 'higher' : 'lower'} is better)` : `fit error in %${logScale ? ' (log scale)' : ''}`;
  out.push(`${' '.repeat(gutter + 1)}${what} against ${report.axis}`);
  cells.forEach((row, r) => {
    const label = labels.get(r);
    out.push(`${(label ?? '').padStart(gutter)} ${label === undefined ? glyph.axisY : glyph.tickY}${row.join('')}`.trimEnd());
  });

  // x axis: tick marks, failed targets crossed on it, labels centred under the ticks.
  const axis = new Array<string>(width).fill(glyph.axisX);
  const xTicks = niceTicks(x0, x1, Math.max(2, Math.floor(width / 12))).filter((t) => t >= x0 && t <= x1);
  for (const t of xTicks) axis[colOf(t)] = glyph.tickX;
  for (const t of failed) axis[colOf(axisValue(t))] = paint(glyph.failed, '31');
  out.push(`${' '.repeat(gutter + 1)}${glyph.corner}${axis.join('')}`);
  let labelLine = '';
  for (const t of xTicks) {
    const text = formatTick(t);
    const start = gutter + 2 + colOf(t) - Math.floor(text.length / 2);
    if (start > labelLine.length) labelLine = labelLine.padEnd(start) + text;
  }
  out.push(labelLine);

  const legend = [`${glyph.point} measured`];
  if (points.some((p) => p.target.poor_fit)) legend.push(`${glyph.poor} poor fit (> ${LARGE_FIT_ERROR * 100}%)`);
  if (byMetric && report.best !== null) {
    legend.unshift(`${glyph.best} best: ${axisLabel(report.axis, axisValue(report.best))}, metric ${formatMetric(report.best.metric)}`);
  }
  if (failed.length > 0) legend.push(`${glyph.failed} failed (${failed.length})`);
  out.push(`${' '.repeat(gutter + 2)}${legend.join('   ')}`);
  return `${out.join('\n')}\n`;
}

/** A range with room: equal ends are spread so a single point still gets a chart. */
function widen(lo: number, hi: number): [number, number] {
  if (hi > lo) return [lo, hi];
  const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
  return [lo - pad, hi + pad];
}
