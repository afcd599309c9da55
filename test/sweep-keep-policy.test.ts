import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkpointsToRemove } from '../src/sweep/keep-policy.js';
import { collectSweepReport } from '../src/sweep/report.js';
import type { SweepRecord } from '../src/sweep/results-store.js';

const record = (sigmaRel: number, extra: Partial<SweepRecord> = {}): SweepRecord => ({
  sigma_rel: sigmaRel, gamma: 1, time: 1000, fit_error: null, metric: (sigmaRel - 0.11) ** 2,
  checkpoint: `out/${sigmaRel}.safetensors`, status: 'ok', reason: null, ...extra,
});
const records = [
  record(0.05), record(0.11), record(0.14, { status: 'failed', metric: null, reason: 'x' }), record(0.2, { checkpoint: null }),
];

test('keep best removes every other checkpoint, failed ones included', () => {
  assert.deepEqual(checkpointsToRemove(collectSweepReport(records), 'best').sort(), ['out/0.05.safetensors', 'out/0.14.safetensors']);
});

test('keep all removes nothing, keep none removes every checkpoint written', () => {
  assert.deepEqual(checkpointsToRemove(collectSweepReport(records), 'all'), []);
  assert.deepEqual(checkpointsToRemove(collectSweepReport(records), 'none').sort(),
    ['out/0.05.safetensors', 'out/0.11.safetensors', 'out/0.14.safetensors']);
});

test('keep best deletes nothing when no evaluation succeeded (there is no best to keep)', () => {
  const failed = records.map((r) => ({ ...r, status: 'failed' as const, metric: null, reason: 'x' }));
  assert.deepEqual(checkpointsToRemove(collectSweepReport(failed), 'best'), []);
});
