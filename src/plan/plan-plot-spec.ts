/**
 * `plan --plot`: worst fit error (log scale) against the snapshot files a cadence costs, one line
 * per tracked set and spacing, the bound as a dashed rule and each set's cheapest cadence circled.
 * A Vega-Lite specification only (pure data); rendering is sweep/plot.ts's.
 */
import type { TopLevelSpec } from 'vega-lite';
import { PLOT_FONT } from '../sweep/plot-spec.js';
import type { CadenceTable, TrackedProfile } from './cadence-plan.js';

export function buildPlanPlotSpec(tables: ReadonlyArray<{ readonly tracked: readonly TrackedProfile[]; readonly table: CadenceTable }>, maxFitError: number, title: string): TopLevelSpec {
  const points = tables.flatMap(({ tracked, table }) => table.rows
    .filter((row) => Number.isFinite(row.worst) && row.worst > 0)
    .map((row, index) => ({
      series: `σ_rel ${tracked.map((p) => p.sigmaRel).join(', ')}${row.spacing === 'geometric' ? ' (geometric)' : ''}`,
      snapshots: row.snapshots,
      worst: row.worst,
      every: row.label,
      cheapest: table.rows[table.cheapest ?? -1] === row,
      index,
    })));
  const x = { field: 'snapshots', type: 'quantitative', title: 'snapshot files (disk)', scale: { type: 'log' } } as const;
  // Whole decades only, labelled as percentages (vega's default log ticks round small ones to 0%).
  const values = [...points.map((p) => p.worst), maxFitError];
  const decades = Array.from({ length: Math.ceil(Math.log10(Math.max(...values))) - Math.floor(Math.log10(Math.min(...values))) + 1 }, (_, i) => 10 ** (Math.floor(Math.log10(Math.min(...values))) + i));
  const y = { field: 'worst', type: 'quantitative', title: 'worst fit error over targets and times', scale: { type: 'log' }, axis: { values: decades, format: '~%' } } as const;
  const color = { field: 'series', type: 'nominal', title: 'tracked', legend: { orient: 'bottom', direction: 'vertical', labelLimit: 400 } } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: `dashed: the bound (${+(maxFitError * 100).toFixed(4)}%); circled: the cheapest cadence within it`, anchor: 'start', fontSize: 15, subtitleFontSize: 12, subtitleColor: '#444', offset: 12 },
    width: 480,
    height: 300,
    background: 'white',
    padding: 12,
    config: { font: PLOT_FONT, view: { stroke: '#444' }, axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', gridColor: '#e6e6e6' } },
    layer: [
      { data: { values: [{ worst: maxFitError }] }, mark: { type: 'rule', strokeDash: [5, 4], color: '#8c8c8c' }, encoding: { y } },
      { data: { values: points }, mark: { type: 'line', point: true, strokeWidth: 1.6 }, encoding: { x, y, color, order: { field: 'snapshots', type: 'quantitative' } } },
      { data: { values: points.filter((p) => p.cheapest) }, mark: { type: 'point', size: 260, filled: false, strokeWidth: 2.2, color: '#d62728' }, encoding: { x, y } },
      { data: { values: points.filter((p) => p.cheapest) }, mark: { type: 'text', dy: -16, color: '#d62728', fontWeight: 'bold' }, encoding: { x, y, text: { field: 'every' } } },
    ],
  } as TopLevelSpec;
}
