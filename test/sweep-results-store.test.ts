import { scratchDir } from './helpers/scratch-dir.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  isTargetDone, latestByTarget, loadSweepResults, SweepResultsStore, SWEEP_RESULTS_FILE, type SweepRecord,
} from '../src/sweep/results-store.js';
import { targetKey } from '../src/sweep/sigma-rel-key.js';

const outDir = (): string => scratchDir('ema-sweep-store-');
const record = (sigmaRel: number, extra: Partial<SweepRecord> = {}): SweepRecord => ({
  sigma_rel: sigmaRel, gamma: 6.94, time: 1000, fit_error: 1e-4, metric: (sigmaRel - 0.11) ** 2,
  checkpoint: `ema-${sigmaRel}.safetensors`, status: 'ok', reason: null, phase: 'grid', ...extra,
});

test('appends one JSON line per record and loads them back unchanged', async () => {
  const dir = outDir();
  const written = [record(0.05), record(0.08, { status: 'failed', metric: null, reason: 'exited with code 3', stderr_tail: 'boom' })];
  const { store, records, warnings } = await SweepResultsStore.open(dir);
  assert.deepEqual(records, []);
  assert.deepEqual(warnings, []);
  for (const r of written) await store.append(r);
  await store.close();
  // Truth: the file itself, read independently, one JSON.parse per line.
  const lines = readFileSync(join(dir, SWEEP_RESULTS_FILE), 'utf8').split('\n');
  assert.deepEqual(lines.slice(0, -1).map((l) => JSON.parse(l)), written);
  assert.equal(lines.at(-1), '');
  assert.deepEqual((await loadSweepResults(join(dir, SWEEP_RESULTS_FILE))).records, written);
});

test('a cut-off last line from a crash is ignored with a warning, and removed before appending', async () => {
  const dir = outDir();
  const file = join(dir, SWEEP_RESULTS_FILE);
  writeFileSync(file, `${JSON.stringify(record(0.05))}\n${JSON.stringify(record(0.08)).slice(0, 25)}`);
  const { store, records, warnings } = await SweepResultsStore.open(dir);
  assert.deepEqual(records, [record(0.05)]);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /sweep\.jsonl: the last line was cut off/);
  await store.append(record(0.08));
  await store.close();
  const reloaded = await loadSweepResults(file);
  assert.deepEqual(reloaded.records, [record(0.05), record(0.08)]);
  assert.deepEqual(reloaded.warnings, []);
});

test('unreadable lines in the middle are skipped with a warning naming the line', async () => {
  const dir = outDir();
  const file = join(dir, SWEEP_RESULTS_FILE);
  writeFileSync(file, `${JSON.stringify(record(0.05))}\nnot json\n{"sigma_rel":"x"}\n\n${JSON.stringify(record(0.11))}\n`);
  const { records, warnings } = await loadSweepResults(file);
  assert.deepEqual(records.map((r) => r.sigma_rel), [0.05, 0.11]);
  assert.deepEqual(warnings.map((w) => w.replace(/^.*: /, '')), ['line 2 is not a sweep record; it is ignored', 'line 3 is not a sweep record; it is ignored']);
});

test('a missing file is an empty sweep', async () => {
  assert.deepEqual(await loadSweepResults(join(outDir(), 'nope', SWEEP_RESULTS_FILE)), { records: [], warnings: [], completeBytes: 0 });
});

test('resume keys match the same target written with float noise, and the latest record wins', () => {
  const records = [
    record(0.11000000000000001, { status: 'failed', metric: null, reason: 'killed by SIGKILL' }),
    record(0.11),
    record(0.14, { time: 2000 }),
  ];
  const latest = latestByTarget(records);
  assert.equal(latest.size, 2);
  const eleven = latest.get(targetKey(0.02 + 3 * 0.03, 1000));
  assert.equal(eleven?.status, 'ok');
  assert.equal(latest.get(targetKey(0.14, 1000)), undefined, 'a different time is a different target');
  assert.ok(latest.has(targetKey(0.14, 2000.0000000000002)));
});

test('a target is done when it succeeded, and has a metric when one is needed', () => {
  assert.equal(isTargetDone(record(0.1), true), true);
  assert.equal(isTargetDone(record(0.1, { metric: null }), false), true);
  assert.equal(isTargetDone(record(0.1, { metric: null }), true), false);
  assert.equal(isTargetDone(record(0.1, { status: 'failed', metric: null, reason: 'x' }), false), false);
  assert.equal(isTargetDone(undefined, false), false);
});

test('appends go to the end even when the file grew under an earlier handle', async () => {
  const dir = outDir();
  const { store } = await SweepResultsStore.open(dir);
  await store.append(record(0.05));
  appendFileSync(join(dir, SWEEP_RESULTS_FILE), `${JSON.stringify(record(0.08))}\n`);
  await store.append(record(0.11));
  await store.close();
  const { records } = await loadSweepResults(join(dir, SWEEP_RESULTS_FILE));
  assert.deepEqual(records.map((r) => r.sigma_rel), [0.05, 0.08, 0.11]);
});
