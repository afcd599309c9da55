import type { TopLevelSpec } from 'vega-lite';
import { LARGE_FIT_ERROR } from '../reconstruct/fit-warnings.js';
import { formatGamma, formatMetric, formatSigmaRel, type SweepReport } from './report.js';
import { axisLabel, axisName, axisValue } from './sweep-axis.js';

/**
 * The `--plot` figure as a Vega-Lite specification (pure data, no rendering): metric against
 * sigma_rel with markers, the best point highlighted and labelled, failed targets as dashed
 * vertical rules; fit error on a log axis when nothing was evaluated. Only types are imported from
 * vega-lite, so building the spec costs nothing; rendering happens in plot.ts.
 */

export interface PlotOptions {
  readonly title?: string;
  /** y-axis name for the metric, e.g. "FID" or "validation loss"; default "metric". */
  readonly metricName?: string;
  /** Plot area in CSS pixels (default 480 x 300). */
  readonly width?: number;
  readonly height?: number;
}

const INK = '#1f3b73';
const BEST = '#d62728';
const FAILED = '#8c8c8c';
const POOR = '#e07b00';
export const PLOT_FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

export function buildPlotSpec(report: SweepReport, options: PlotOptions = {}): TopLevelSpec {
  // A failed target means evaluation was asked for: the figure is about the metric even if none came.
  const byMetric = report.targets.some((t) => (t.status === 'ok' && t.metric !== null) || t.status === 'failed');
  const isBest = (value: number, time: number): boolean =>
    byMetric && report.best !== null && axisValue(report.best) === value && report.best.time === time;
  const measured = report.targets
    .filter((t) => t.status === 'ok' && (byMetric ? t.metric !== null : t.fit_error !== null))
    .map((t) => ({
      // The x field keeps its name for every kind: it holds the swept number (report.axis says which).
      sigma_rel: axisValue(t),
      // Fit errors in percent, as in the table.
      value: (byMetric ? t.metric : t.fit_error! * 100) as number,
      poor: t.poor_fit,
      best: isBest(axisValue(t), t.time),
      phase: t.phase === 'refine' ? 'refinement' : 'grid',
      time: t.time,
    }));
  // A length x time grid: one curve per time, coloured along a sequential scale (early light, late dark).
  const perTime = new Set(measured.map((p) => p.time)).size > 1
    ? { color: { field: 'time', type: 'ordinal', title: 'time', scale: { scheme: 'viridis', reverse: true }, legend: { orient: 'right' } } } as const
    : {};
  const logScale = !byMetric && measured.length > 0 && measured.every((p) => p.value > 0);
  const failed = report.targets.filter((t) => t.status === 'failed').map((t) => ({ sigma_rel: axisValue(t) }));
  const best = measured.filter((p) => p.best);
  const poor = measured.filter((p) => p.poor);

  const metricName = options.metricName ?? 'metric';
  const yTitle = byMetric
    ? `${metricName} (${report.maximize ? 'higher' : 'lower'} is better)`
    : `fit error in %${logScale ? ' (log scale)' : ''}`;
  const x = {
    field: 'sigma_rel', type: 'quantitative', title: report.axis === 'sigma_rel' ? 'EMA length σ_rel' : report.axis,
    scale: { zero: false, nice: true, padding: 12, ...around([...measured, ...failed].map((p) => p.sigma_rel)) },
    axis: { tickCount: 6 },
  } as const;
  const y = {
    field: 'value', type: 'quantitative', title: yTitle,
    scale: logScale ? { type: 'log' as const } : { zero: false, nice: true, padding: 12, ...around(measured.map((p) => p.value)) },
    // Whole decades only on a log axis: vega's default adds a grid line at every 2..9 x 10^k.
    axis: logScale ? { values: decadesAround(measured.map((p) => p.value)), format: '~e' } : { tickCount: 6 },
  };

  const subtitle: string[] = [];
  if (report.best !== null && byMetric) {
    subtitle.push(`best ${report.axis === 'sigma_rel' ? `σ_rel = ${formatSigmaRel(report.best.sigma_rel)} (γ = ${formatGamma(report.best.gamma)})` : axisLabel(report.axis, axisValue(report.best))}, ` +
      `${metricName} = ${formatMetric(report.best.metric)}${'color' in perTime ? ` at time ${report.best.time}` : ''}`);
  }
  if (report.best !== null && byMetric && report.best.at_edge !== null) {
    subtitle.push(`best at the grid's ${report.best.at_edge} edge: the optimum may lie ${report.best.at_edge === 'lower' ? 'below' : 'above'} it`);
  }
  if (poor.length > 0) subtitle.push(`orange squares: poor fit (fit error > ${LARGE_FIT_ERROR * 100}%)`);
  if (failed.length > 0) subtitle.push(`dashed: ${failed.length} failed evaluation${failed.length === 1 ? '' : 's'}`);

  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: {
      text: options.title ?? (byMetric ? `${metricName} against ${lengthName(report.axis)}` : `Reconstruction fit error against ${lengthName(report.axis)}`),
      // One short line each: vega estimates text width without a canvas, generously, and a long
      // subtitle would widen the whole figure.
      ...(subtitle.length > 0 ? { subtitle } : {}),
      anchor: 'start', fontSize: 15, subtitleFontSize: 12, subtitleColor: '#444', offset: 12,
    },
    width: options.width ?? 480,
    height: options.height ?? 300,
    background: 'white',
    padding: 12,
    config: {
      font: PLOT_FONT,
      view: { stroke: '#444' },
      axis: {
        labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', grid: true, gridColor: '#e6e6e6',
        domainColor: '#444', tickColor: '#444', labelColor: '#222', titleColor: '#222',
      },
      legend: { labelFontSize: 11, titleFontSize: 11 },
    },
    layer: [
      {
        data: { values: failed },
        mark: { type: 'rule', color: FAILED, strokeDash: [5, 4], strokeWidth: 1.2 },
        encoding: { x },
      },
      {
        data: { values: measured },
        mark: { type: 'line', color: INK, strokeWidth: 1.8, interpolate: 'linear' },
        encoding: { x, y, order: { field: 'sigma_rel', type: 'quantitative' }, ...perTime },
      },
      {
        data: { values: measured },
        mark: { type: 'point', filled: true, size: 46, color: INK, stroke: 'white', strokeWidth: 0.8, opacity: 1 },
        encoding: {
          x, y, ...perTime,
          shape: {
            field: 'phase', type: 'nominal', title: null,
            scale: { domain: ['grid', 'refinement'], range: ['circle', 'diamond'] },
            // Below the plot, where it can never cover the curve.
            legend: measured.some((p) => p.phase === 'refinement') ? { orient: 'bottom', direction: 'horizontal' } : null,
          },
        },
      },
      {
        data: { values: poor },
        mark: { type: 'point', shape: 'square', size: 150, filled: false, color: POOR, strokeWidth: 2, opacity: 1 },
        encoding: { x, y },
      },
      {
        data: { values: best },
        mark: { type: 'point', shape: 'circle', size: 260, filled: false, color: BEST, strokeWidth: 2.2, opacity: 1 },
        encoding: { x, y },
      },
      {
        data: { values: best },
        mark: { type: 'text', color: BEST, dy: -16, fontSize: 12, fontWeight: 'bold', align: 'center', baseline: 'bottom' },
        encoding: { x, y, text: { value: 'best' } },
      },
    ],
  } as TopLevelSpec;
}

/** Powers of ten from just below the smallest value to just above the largest. */
function decadesAround(values: readonly number[]): number[] {
  const low = Math.floor(Math.log10(Math.min(...values)));
  const high = Math.ceil(Math.log10(Math.max(...values)));
  return Array.from({ length: high - low + 1 }, (_, i) => Number(`1e${low + i}`));
}

/** An explicit domain when all values are equal (vega would draw a zero-width scale), else nothing. */
function around(values: readonly number[]): { domain?: [number, number] } {
  if (values.length === 0 || values.some((v) => v !== values[0])) return {};
  const pad = values[0] === 0 ? 1 : Math.abs(values[0]) * 0.2;
  return { domain: [values[0] - pad, values[0] + pad] };
}

/** How titles name the swept quantity: "EMA length" for sigma_rel, else the axis's own name. */
function lengthName(axis: string): string {
  return axis === 'sigma_rel' ? 'EMA length' : axisName(axis);
}
