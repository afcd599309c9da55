import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';
import { collectSweepReport, renderSweepTable } from '../src/sweep/report.js';
import type { SweepRecord } from '../src/sweep/results-store.js';
import { targetAt } from '../src/sweep/sweep-axis.js';
import type { Target } from '../src/reconstruct/targets.js';

const F32_DIR = join(FIXTURES, 'snapshots-f32');

test('sweep over --half-life: table, chart and plot label the axis by kind; fit errors equal reconstruct\'s', async (t) => {
  const dir = makeTempDir(t);
  const plot = join(dir, 'curve.svg');
  const table = await runCli(['sweep', F32_DIR, '--half-life', '1%,2%,...,6%', '--plot', plot]);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^ +half-life \(% of the target time\) +width +fit error/);
  assert.match(table.stdout, /fit error in % \(log scale\) against half-life \(% of the target time\)/);
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

test('grid edges of other kinds are found along the swept number; one step beyond is a target of the same kind, or none', () => {
  // Betas 0.99, 0.995, 0.999 with the widths they stand for; the narrowest (0.99) is best.
  const record = (beta: number, width: number, metric: number): SweepRecord => ({
    sigma_rel: width, gamma: NaN, time: 1000, fit_error: 0.01, metric, checkpoint: null, status: 'ok', reason: null, phase: 'grid',
    kind: 'exponential', value: beta, axis: 'beta',
  });
  const records = [record(0.999, 0.3, 3), record(0.99, 0.05, 1), record(0.995, 0.1, 2)];
  const asked: number[] = [];
  const report = collectSweepReport(records, { fitErrorAt: (value) => { asked.push(value); return 0.2; } });
  assert.equal(report.best?.at_edge, 'lower');
  // Truth: 0.99 - (0.995 - 0.99) = 0.985, on the beta axis (not the width 0.05 - 0.05 = 0).
  assert.deepEqual(asked, [0.985]);
  assert.deepEqual(report.best?.beyond_edge, { value: 0.985, fit_error: 0.2 });
  const table = renderSweepTable(report);
  assert.match(table, /note: the best, beta 0\.99, lies at the lower edge of the grid: the optimum may lie below it; but these snapshots cannot go much further: beta 0\.985 would fit poorly \(fit error 20\.000%\)/);
  const upper = collectSweepReport(records, { maximize: true, fitErrorAt: () => 0.01 });
  assert.equal(upper.best?.at_edge, 'upper');
  // The step beyond, 0.999 + 0.004 = 1.003, is asked for; the sweep's callback answers through targetAt.
  const beta: Target = { kind: 'exponential', givenAs: 'beta', beta: 0.99, betaEvery: 4 };
  assert.equal(targetAt(beta, 1.003), undefined, 'beta must stay below 1');
  assert.deepEqual(targetAt(beta, 0.985), { ...beta, beta: 0.985 });
  assert.deepEqual(targetAt({ kind: 'exponential', givenAs: 'half_life', halfLife: { value: 6, percent: true } }, 7),
    { kind: 'exponential', givenAs: 'half_life', halfLife: { value: 7, percent: true } });
  assert.equal(targetAt({ kind: 'window', window: { value: 90, percent: true } }, 110), undefined, 'a window of more than the whole run');
  assert.equal(targetAt({ kind: 'power', sigmaRel: 0.25, gamma: 1, givenAs: 'sigma_rel' }, 0.3), undefined);
});

test('a --half-life sweep with an evaluation: at-edge note, beyond_edge and failure warnings on its own axis', async (t) => {
  const out = makeTempDir(t);
  // The metric is (width - 0.11)^2: every half-life here is narrower than 0.11, so the widest (6%) wins.
  const quadratic = `node ${join(FIXTURES, 'eval/quadratic.mjs')} {sigma_rel}`;
  const args = ['sweep', F32_DIR, '--half-life', '4%,5%,6%', '--eval-cmd', quadratic, '--out-dir', out, '--keep', 'none'];
  const json = await runCli([...args, '--json']);
  assert.equal(json.code, 0, json.stderr);
  const best = JSON.parse(json.stdout).best;
  assert.equal(best.value, 6);
  assert.equal(best.at_edge, 'upper');
  const single = JSON.parse((await runCli(['reconstruct', F32_DIR, '--half-life', '7%', '--dry-run', '--json'])).stdout).targets[0];
  assert.deepEqual(best.beyond_edge, { value: 7, fit_error: single.fit_error });
  const plot = join(out, 'curve.svg');
  const table = await runCli([...args, '--plot', plot]);
  assert.match(table.stdout, /^best: half-life 6%, metric /m);
  const svg = readFileSync(plot, 'utf8');
  assert.match(svg, />best half-life 6%, metric = /);
  assert.match(svg, />best</, 'the best point is marked on the curve');
  assert.match(table.stdout, /note: the best, half-life 6%, lies at the upper edge of the grid: the optimum may lie above it; .*half-life 7% (still fits well|would fit poorly)/);
  // Another sweep into the same folder reports its own axis only, not the half-life records there.
  const other = JSON.parse((await runCli(['sweep', F32_DIR, '--sigma-rel', '0.05,0.1', '--out-dir', out, '--json'])).stdout);
  assert.deepEqual(other.targets.map((x: { sigma_rel: number; kind?: string }) => [x.sigma_rel, x.kind]), [[0.05, undefined], [0.1, undefined]]);
  const failed = await runCli(['sweep', F32_DIR, '--half-life', '5%', '--eval-cmd', 'echo oops >&2; exit 3', '--out-dir', join(out, 'failing')]);
  assert.equal(failed.code, 1);
  assert.match(failed.stderr, /^warning: half-life 5%: evaluation failed \(exited with code 3\); the end of its stderr:\n {2}\| oops$/m);
});
