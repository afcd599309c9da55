import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openPytorchCheckpoint } from '../src/pytorch/checkpoint-source.js';
import { decodeFloats } from '../src/safetensors/dtype-convert.js';
import { openSafetensors } from '../src/safetensors/reader.js';
import { DTYPE_BYTES } from '../src/tensors/tensor-source.js';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';
import { readTensorValues } from './helpers/read-tensor.js';

// Truth: fixtures/pytorch/ema-pytorch-expected.json, what ema-pytorch's synthesize_ema_model returns
// for this folder (computed by fixtures/pytorch/make_ema_pytorch_fixtures.py with torch).
const FOLDER = join(FIXTURES, 'pytorch/ema-pytorch');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'pytorch/ema-pytorch-expected.json'), 'utf8'));

/** Every tensor of the named ema-pytorch checkpoints, as float64 values. */
async function snapshotValues(files: readonly string[]): Promise<Map<string, Map<string, Float64Array>>> {
  const all = new Map<string, Map<string, Float64Array>>();
  for (const file of files) {
    const source = await openPytorchCheckpoint(join(FOLDER, file));
    const tensors = new Map<string, Float64Array>();
    for (const tensor of source.tensors) {
      const bytes = new Uint8Array(tensor.byteLength);
      await source.read(tensor.name, 0, bytes);
      const values = new Float64Array(tensor.byteLength / DTYPE_BYTES[tensor.dtype]);
      decodeFloats(tensor.dtype, bytes, values);
      tensors.set(tensor.name, values);
    }
    await source.close();
    all.set(file, tensors);
  }
  return all;
}

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
    // Tensors, two ways. (1) Exactly the float64 sum, in snapshot order, of the reported weights times
    // the checkpoints' values, rounded once to float32: what the blend engine promises. (2) Against
    // ema-pytorch's own float32 sums: n products and n sums each rounded (2^-24 relative apiece) and our
    // one rounding, so they differ by at most (2n + 1) 2^-24 sum_i |w_i v_i| (measured: 13% of it).
    const snapshots = await snapshotValues(case_.files);
    const used: { file: string; coefficient: number }[] = report.targets[0].coefficients.map((c: { file: string; coefficient: number }) => ({ ...c, file: c.file.split('/').pop() }));
    for (const [name, values] of Object.entries(case_.tensors) as Array<[string, number[]]>) {
      const actual = await readTensorValues(out, name);
      values.forEach((v, k) => {
        const sum = used.reduce((acc, c) => acc + c.coefficient * snapshots.get(c.file)!.get(name)![k], 0);
        assert.equal(actual[k], Math.fround(sum), `${name}[${k}]: the float64 blend rounded once`);
        const magnitude = case_.files.reduce((acc: number, file: string, i: number) => acc + Math.abs(case_.weights[i] * snapshots.get(file)!.get(name)![k]), 0);
        const bound = (2 * case_.files.length + 1) * 2 ** -24 * magnitude;
        assert.ok(Math.abs(actual[k] - v) <= bound, `${name}[${k}]: ${actual[k]} vs ema-pytorch's ${v} (bound ${bound})`);
      });
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
