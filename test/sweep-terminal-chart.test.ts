import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectSweepReport } from '../src/sweep/report.js';
import { renderSweepChart } from '../src/sweep/terminal-chart.js';
import { formatTick, niceTicks } from '../src/sweep/nice-ticks.js';
import type { SweepRecord } from '../src/sweep/results-store.js';

const record = (sigmaRel: number, extra: Partial<SweepRecord> = {}): SweepRecord => ({
  sigma_rel: sigmaRel, gamma: 1 / sigmaRel, time: 1000, fit_error: 1e-6 * Math.exp(30 * sigmaRel),
  metric: (sigmaRel - 0.1) ** 2, checkpoint: null, status: 'ok', reason: null, ...extra,
});

/** Rows of plot cells: the text right of the y axis, for lines that have one. */
function plotRows(chart: string): string[] {
  return chart.split('\n').slice(1).filter((l) => /[│┤|+]/.test(l) && !/[└]/.test(l)).map((l) => l.replace(/^[^│┤]*[│┤]/, ''));
}

test('places points by their sigma_rel, not by their order: uneven spacing is kept', () => {
  const chart = renderSweepChart(collectSweepReport([0.05, 0.06, 0.2].map((s) => record(s))), { width: 60, height: 10 });
  // Truth: column = round((x - 0.05) / 0.15 * 59), computed by hand: 0, 4, 59.
  const columns = plotRows(chart).flatMap((row) => [...row].flatMap((c, i) => (c === '●' || c === '★' ? [i] : [])));
  assert.deepEqual(columns.sort((a, b) => a - b), [0, 4, 59]);
});

test('stars the best point, in the bottom row when lower is better and the top row with maximize', () => {
  const records = [0.05, 0.08, 0.1, 0.13, 0.2].map((s) => record(s));
  const rows = plotRows(renderSweepChart(collectSweepReport(records), { height: 8 }));
  assert.equal(rows.length, 8);
  assert.ok(rows[7].includes('★'), 'best (lowest metric) on the bottom row');
  assert.equal(rows.join('').split('★').length - 1, 1, 'one star');
  const maxRows = plotRows(renderSweepChart(collectSweepReport(records, { maximize: true }), { height: 8 }));
  assert.ok(maxRows[0].includes('★'), 'best (highest metric) on the top row');
  assert.match(renderSweepChart(collectSweepReport(records)), /★ best: sigma_rel 0\.1, metric 0 /);
});

test('failed targets are crossed on the x axis and counted in the legend', () => {
  const chart = renderSweepChart(collectSweepReport([
    record(0.05), record(0.1), record(0.15, { status: 'failed', metric: null, reason: 'boom' }), record(0.2),
  ]), { width: 61 });
  const axis = chart.split('\n').find((l) => l.includes('└'))!;
  // Truth: column of 0.15 in [0.05, 0.2] over 61 columns = round(0.1 / 0.15 * 60) = 40.
  assert.equal(axis.slice(axis.indexOf('└') + 1)[40], '×');
  assert.match(chart, /× failed \(1\)/);
});

test('without metrics it charts the fit error on a log scale, labelled by decades', () => {
  const chart = renderSweepChart(collectSweepReport([0.02, 0.08, 0.14, 0.2].map((s) => record(s, { metric: null }))));
  assert.match(chart.split('\n')[0], /fit error in % \(log scale\) against sigma_rel/);
  // Truth: the fit errors span 1.8e-6 .. 4.0e-4, i.e. 1.8e-4% .. 0.04%, so the whole decades inside are 1e-3 and 1e-2 (%).
  const yLabels = chart.split('\n').map((l) => /^\s*(\S+) ┤/.exec(l)?.[1]).filter((l) => l !== undefined);
  assert.deepEqual(yLabels, ['0.01', '0.001']);
  assert.doesNotMatch(chart, /★/);
});

test('x tick labels are nice round numbers under their tick marks', () => {
  const chart = renderSweepChart(collectSweepReport([0.02, 0.23].map((s) => record(s))), { width: 60 });
  const lines = chart.split('\n');
  const axisIndex = lines.findIndex((l) => l.includes('└'));
  const labels = lines[axisIndex + 1];
  assert.deepEqual(labels.trim().split(/\s+/), ['0.05', '0.1', '0.15', '0.2']);
  for (const label of labels.trim().split(/\s+/)) {
    const centre = labels.indexOf(label) + Math.floor(label.length / 2);
    assert.equal(lines[axisIndex][centre], '┬', `tick under ${label}`);
  }
});

test('plain ASCII on request, colour codes only on request, nothing for an empty sweep', () => {
  const report = collectSweepReport([record(0.05), record(0.1), record(0.2, { status: 'failed', metric: null })]);
  assert.match(renderSweepChart(report, { ascii: true }), /^[\x20-\x7e\n]*$/);
  assert.doesNotMatch(renderSweepChart(report), /\x1b/);
  assert.match(renderSweepChart(report, { color: true }), /\x1b\[1;32m★\x1b\[0m/);
  assert.match(renderSweepChart(report, { color: true }), /\x1b\[31m×\x1b\[0m/);
  assert.equal(renderSweepChart(collectSweepReport([])), '');
  assert.match(renderSweepChart(collectSweepReport([record(0.1)])), /★/, 'a single point still charts');
});

test('nice ticks are round, inside the range and near the requested count', () => {
  assert.deepEqual(niceTicks(0.02, 0.23, 5), [0.05, 0.1, 0.15, 0.2]);
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(niceTicks(-3, 7, 6), [-2, 0, 2, 4, 6]);
  assert.deepEqual(niceTicks(5, 5), [5]);
  assert.equal(formatTick(0.15000000000000002), '0.15');
  assert.equal(formatTick(1e-4), '1e-4');
  assert.equal(formatTick(123456), '1.2e5');
});
