import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';

const RUN = join(FIXTURES, 'train-run/snapshots');

test('sweep --eval builtin scores each reconstruction with the same loss `ema-synth evaluate` prints', async (t) => {
  const dir = makeTempDir(t);
  const swept = await runCli(['sweep', RUN, '--sigma-rel', '0.06,0.12', '--eval', 'builtin', '--keep', 'all', '--out-dir', dir, '--json']);
  assert.equal(swept.code, 0, swept.stderr);
  const report = JSON.parse(swept.stdout);
  assert.equal(report.targets.length, 2);
  for (const target of report.targets) {
    assert.equal(target.status, 'ok');
    // A second, separate path: the evaluate command on the kept checkpoint; deterministic for seed 0.
    const evaluated = await runCli(['evaluate', target.checkpoint, '--json']);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.equal(JSON.parse(evaluated.stdout).metric, target.metric);
  }
  assert.ok(report.targets[0].metric !== report.targets[1].metric, 'different EMA lengths give different losses');
  assert.equal(report.best.metric, Math.min(...report.targets.map((x: { metric: number }) => x.metric)));
});
