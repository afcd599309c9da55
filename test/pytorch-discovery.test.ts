import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors } from '../src/safetensors/reader.js';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';
import { readTensorValues } from './helpers/read-tensor.js';

// Truth: fixtures/pytorch/ema-pytorch-expected.json, what ema-pytorch's synthesize_ema_model returns
// for this folder (computed by fixtures/pytorch/make_ema_pytorch_fixtures.py with torch).
const FOLDER = join(FIXTURES, 'pytorch/ema-pytorch');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'pytorch/ema-pytorch-expected.json'), 'utf8'));

test('--match ema-pytorch reproduces synthesize_ema_model on an ema-pytorch folder of .pt files', async (t) => {
  const dir = makeTempDir(t);
  for (const case_ of expected.synthesized) {
    const out = join(dir, `ema-${case_.sigma_rel}.safetensors`);
    const result = await runCli(['reconstruct', FOLDER, '--profiles', expected.sigma_rels.join(','), '--sigma-rel', String(case_.sigma_rel),
      '--time', String(case_.step), '--match', 'ema-pytorch', '--dtype', 'f32', '--out', out, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout);
    // Weights: same LU solve on the same float32-rounded gammas; 1e-9 relative to the largest.
    const byFile = new Map(report.targets[0].coefficients.map((c: { file: string; coefficient: number }) => [c.file.split('/').pop(), c.coefficient]));
    const scale = Math.max(...case_.weights.map(Math.abs));
    case_.files.forEach((file: string, i: number) => assert.ok(Math.abs((byFile.get(file) as number) - case_.weights[i]) <= 1e-9 * scale, `${file}`));
    // Tensors: ema-pytorch sums in float32, we in float64; they agree to float32 rounding.
    for (const [name, values] of Object.entries(case_.tensors) as Array<[string, number[]]>) {
      const actual = await readTensorValues(out, name);
      values.forEach((v, k) => assert.ok(Math.abs(actual[k] - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${name}[${k}]: ${actual[k]} vs ${v}`));
    }
    const file = await openSafetensors(out);
    assert.equal(file.tensor('step').dtype, 'F16', 'bookkeeping counters are copied, not blended or converted');
    await file.close();
  }
});

test('the exact convention places <index>.<step>.pt at time step + 1 and uses only earlier snapshots', async () => {
  const result = await runCli(['reconstruct', FOLDER, '--profiles', '0.05,0.2', '--sigma-rel', '0.1', '--dry-run', '--json', '--update-every', '1']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.time, 7);
  assert.equal(report.time_unit, 'step');
  assert.deepEqual(report.targets[0].coefficients.map((c: { time: number }) => c.time), [3, 3, 5, 5, 7, 7]);
  const sum = report.targets[0].coefficients.reduce((a: number, c: { coefficient: number }) => a + c.coefficient, 0);
  assert.ok(Math.abs(sum - 1) < 1e-12);
  assert.doesNotMatch(result.stderr, /update_every/, '--update-every 1 silences the sparse-update warning');
});

test('ema-pytorch folders warn about sparse updates by default, and .pt files without a profile list are refused', async () => {
  const warned = await runCli(['reconstruct', FOLDER, '--profiles', '0.05,0.2', '--sigma-rel', '0.1', '--dry-run']);
  assert.equal(warned.code, 0);
  assert.match(warned.stderr, /warning: ema-pytorch does not correct beta .*update_every/);
  const refused = await runCli(['reconstruct', FOLDER, '--sigma-rel', '0.1', '--dry-run']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /error: .*\.pt: a PyTorch checkpoint does not say which EMA it holds\nhint: for an ema-pytorch folder give --profiles/);
  const outOfRange = await runCli(['reconstruct', FOLDER, '--profiles', '0.05', '--sigma-rel', '0.1', '--dry-run']);
  assert.equal(outOfRange.code, 1);
  assert.match(outOfRange.stderr, /1\.2\.pt has profile index 1, but --profiles lists only 1 value/);
});

test('sweep warns about sparse updates on ema-pytorch folders too', async () => {
  const result = await runCli(['sweep', FOLDER, '--profiles', '0.05,0.2', '--sigma-rel', '0.08,0.1']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /warning: ema-pytorch does not correct beta/);
  const quiet = await runCli(['sweep', FOLDER, '--profiles', '0.05,0.2', '--sigma-rel', '0.08,0.1', '--update-every', '1']);
  assert.doesNotMatch(quiet.stderr, /update_every/);
});
