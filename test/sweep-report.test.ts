import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectSweepReport, renderSweepJson, renderSweepTable, useColor } from '../src/sweep/report.js';
import type { SweepRecord } from '../src/sweep/results-store.js';

const record = (sigmaRel: number, extra: Partial<SweepRecord> = {}): SweepRecord => ({
  sigma_rel: sigmaRel, gamma: 1 / sigmaRel, time: 1000, fit_error: sigmaRel / 100, metric: (sigmaRel - 0.11) ** 2,
  checkpoint: `out/ema-${sigmaRel}.safetensors`, status: 'ok', reason: null, phase: 'grid', ...extra,
});

const records: SweepRecord[] = [
  record(0.14),
  record(0.05),
  record(0.08, { status: 'failed', metric: null, reason: 'exited with code 3', stderr_tail: 'CUDA out of memory' }),
  record(0.11000000000000001, { metric: 0 }),
  record(0.117, { phase: 'refine', metric: 0.000049 }),
];

test('collects one target per sigma_rel, sorted, with the lowest metric as best', () => {
  const report = collectSweepReport(records);
  assert.deepEqual(report.targets.map((t) => t.sigma_rel), [0.05, 0.08, 0.11, 0.117, 0.14]);
  // Truth: 0 is the smallest metric written above.
  assert.deepEqual(report.best, {
    sigma_rel: 0.11, gamma: 1 / 0.11000000000000001, time: 1000, metric: 0, checkpoint: 'out/ema-0.11000000000000001.safetensors',
    poor_fit: false, at_edge: null, beyond_edge: null,
  });
  assert.equal(collectSweepReport(records, { maximize: true }).best?.sigma_rel, 0.05);
});

test('a rerun record replaces the earlier failure of the same target', () => {
  const report = collectSweepReport([...records, record(0.08)]);
  assert.equal(report.targets.length, 5);
  assert.equal(report.targets[1].status, 'ok');
});

test('best is null when nothing was evaluated successfully', () => {
  assert.equal(collectSweepReport([record(0.1, { metric: null })]).best, null);
  assert.equal(collectSweepReport([]).best, null);
});

test('the JSON document has a targets array and a best object with the issue fields', () => {
  const json = JSON.parse(renderSweepJson(collectSweepReport(records), { snapshots: 4 }));
  assert.equal(json.snapshots, 4);
  assert.equal(json.targets.length, 5);
  for (const field of ['sigma_rel', 'gamma', 'time', 'fit_error', 'metric', 'checkpoint', 'status']) {
    assert.ok(field in json.targets[0], `targets[].${field}`);
  }
  assert.deepEqual(Object.keys(json.best).sort(), ['at_edge', 'beyond_edge', 'checkpoint', 'gamma', 'metric', 'poor_fit', 'sigma_rel', 'time']);
  assert.equal(json.targets[1].reason, 'exited with code 3');
  assert.equal(json.targets[1].stderr_tail, 'CUDA out of memory');
  assert.equal(json.targets[1].metric, null);
});

test('the table marks the best row, shows failures with their reason and summarises', () => {
  const table = renderSweepTable(collectSweepReport(records));
  const lines = table.split('\n');
  assert.match(lines[0], /^\s+sigma_rel\s+gamma\s+fit error\s+metric\s+step\s+status$/);
  const best = lines.filter((l) => l.startsWith('*'));
  assert.equal(best.length, 1);
  // Fit error 0.0011 in percent, as in reconstruct's and inspect's tables.
  assert.match(best[0], /^\*\s+0\.11\s+9\.091\s+0\.110%\s+0\s+grid\s+ok$/);
  assert.match(table, /0\.08 .* failed: exited with code 3: CUDA out of memory\n/);
  assert.match(table, /0\.117 .* 0\.000049\s+refine\s+ok\n/);
  assert.match(table, /best: sigma_rel 0\.11 \(gamma 9\.091\), metric 0 \(lower is better\): out\/ema-0\.11000000000000001\.safetensors\n/);
  assert.match(table, /1 of 5 targets failed\n$/);
  assert.doesNotMatch(table, /\x1b\[/, 'no colour codes unless asked');
});

test('a fit-error-only sweep shows no metric column and no best line', () => {
  const table = renderSweepTable(collectSweepReport([record(0.05, { metric: null }), record(0.1, { metric: null })]));
  assert.doesNotMatch(table, /metric|best/);
  assert.match(table.split('\n')[1], /^\s+0\.05\s+20\.00\s+0\.050%\s+ok$/);
  assert.match(table.split('\n')[2], /^\s+0\.10\s+10\.00\s+0\.100%\s+ok$/, 'sigma_rel aligned to the grid\'s decimals');
});

test('colour only on a terminal without NO_COLOR, and only when asked', () => {
  assert.equal(useColor({ isTTY: true }, {}), true);
  assert.equal(useColor({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(useColor({ isTTY: true }, { NO_COLOR: '' }), true);
  assert.equal(useColor({ isTTY: true }, { TERM: 'dumb' }), false);
  assert.equal(useColor({ isTTY: false }, {}), false);
  assert.equal(useColor({}, {}), false);
  const coloured = renderSweepTable(collectSweepReport(records), { color: true });
  assert.match(coloured, /\x1b\[1;32m\* +0\.11 .*\x1b\[0m/);
  assert.match(coloured, /\x1b\[31m +0\.08 .*failed.*\x1b\[0m/);
});
