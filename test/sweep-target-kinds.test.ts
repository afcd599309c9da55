import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';

const F32_DIR = join(FIXTURES, 'snapshots-f32');

test('sweep over --half-life: table, chart and plot label the axis by kind; fit errors equal reconstruct\'s', async (t) => {
  const dir = makeTempDir(t);
  const plot = join(dir, 'curve.svg');
  const table = await runCli(['sweep', F32_DIR, '--half-life', '1%,2%,...,6%', '--plot', plot]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^ +half-life \(% of the target time\) +width +fit error/);
  assert.match(table.stdout, /fit error \(log scale\) against half-life \(% of the target time\)/);
  const svg = readFileSync(plot, 'utf8');
  assert.match(svg, />half-life \(% of the target time\)</);
  assert.doesNotMatch(svg, /σ_rel/);
  const json = JSON.parse((await runCli(['sweep', F32_DIR, '--half-life', '1%,2%,...,6%', '--json'])).stdout);
  assert.equal(json.targets.length, 6);
  assert.deepEqual(json.targets.map((x: { value: number }) => x.value), [1, 2, 3, 4, 5, 6]);
  const single = JSON.parse((await runCli(['reconstruct', F32_DIR, '--half-life', '3%', '--dry-run', '--json'])).stdout).targets[0];
  assert.equal(json.targets[2].fit_error, single.fit_error);
  assert.equal(json.targets[2].kind, 'exponential');
});

test('sweep over --window keeps checkpoints with their own names, resumes by kind and value, and refuses mixed axes', async (t) => {
  const out = makeTempDir(t);
  const first = await runCli(['sweep', F32_DIR, '--window', '10%,20%', '--out-dir', out, '--keep', 'all', '--json']);
  assert.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout);
  assert.deepEqual(report.targets.map((x: { checkpoint: string }) => x.checkpoint.replace(/.*\//, '')), ['ema-window10pct-time65536.safetensors', 'ema-window20pct-time65536.safetensors']);
  assert.equal(report.passes.length, 1);
  const again = JSON.parse((await runCli(['sweep', F32_DIR, '--window', '10%,20%', '--out-dir', out, '--keep', 'all', '--json'])).stdout);
  assert.equal(again.passes.length, 0, 'a rerun finds both targets done');
  const mixed = await runCli(['sweep', F32_DIR, '--window', '10%', '--half-life', '5%']);
  assert.equal(mixed.code, 2);
  assert.match(mixed.stderr, /error: sweep one kind of target at a time/);
  const refine = await runCli(['sweep', F32_DIR, '--half-life', '5%', '--refine', '2', '--eval-cmd', 'echo 1', '--out-dir', out]);
  assert.match(refine.stderr, /error: --refine searches sigma_rel only/);
});
