import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors } from '../src/safetensors/reader.js';
import { writeSafetensorsFile } from '../src/safetensors/writer.js';
import { sigmaRelToGamma } from '../src/phema/profile.js';
import { elementCount } from '../src/tensors/tensor-source.js';
import { EXPONENTS, exactEma, FIXTURE_TENSORS, HORIZON, trajectoryCoefficients } from '../fixtures/polynomial-trajectory.js';
import { snapshotTensors } from '../fixtures/make-snapshots.js';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';
import { readTensorValues } from './helpers/read-tensor.js';

const F32_DIR = join(FIXTURES, 'snapshots-f32');
const F16_DIR = join(FIXTURES, 'snapshots-f16');
const PARAMS = FIXTURE_TENSORS.map((t, index) => ({ ...t, index })).filter((t) => t.kind === 'param');

/** ||theta_e||_2 over [0, t] for the polynomial trajectory a + b u^0.5 + c u^2, u = tau / HORIZON. */
function trajectoryNorm(coefficients: Float64Array, e: number, time: number): number {
  const u = time / HORIZON;
  let integral = 0; // H * integral_0^u (sum_m c_m s^k_m)^2 ds, term by term
  for (let m = 0; m < EXPONENTS.length; m++) {
    for (let n = 0; n < EXPONENTS.length; n++) {
      const power = EXPONENTS[m] + EXPONENTS[n] + 1;
      integral += (coefficients[e * 3 + m] * coefficients[e * 3 + n] * u ** power) / power;
    }
  }
  return Math.sqrt(HORIZON * integral);
}

/**
 * Checks every parameter of a reconstruction against the closed-form EMA, within the fit-error bound
 * (Cauchy-Schwarz over tau): |recon - exact| <= fit_error * ||p_target|| * ||theta||, plus float32
 * rounding of the output. Returns the worst error relative to the tracked sigma_rel 0.05 EMA's.
 */
async function assertWithinFitBound(target: { sigma_rel: number; time: number; fit_error: number; output: string }): Promise<number> {
  const gamma = sigmaRelToGamma(target.sigma_rel);
  const targetNorm = Math.sqrt((gamma + 1) ** 2 / ((2 * gamma + 1) * target.time));
  let worstRatio = 0;
  for (const tensor of PARAMS) {
    const elements = elementCount(tensor.shape);
    const exact = exactEma(tensor.index, elements, gamma, target.time);
    const tracked = exactEma(tensor.index, elements, sigmaRelToGamma(0.05), target.time);
    const actual = await readTensorValues(target.output, tensor.name);
    const coefficients = trajectoryCoefficients(tensor.index, elements);
    for (let e = 0; e < elements; e++) {
      const bound = target.fit_error * targetNorm * trajectoryNorm(coefficients, e, target.time) + 1e-6 * Math.abs(exact[e]) + 1e-7;
      const error = Math.abs(actual[e] - exact[e]);
      assert.ok(error <= bound, `${tensor.name}[${e}] at sigma_rel ${target.sigma_rel}, time ${target.time}: error ${error} > bound ${bound}`);
      worstRatio = Math.max(worstRatio, error / Math.max(Math.abs(tracked[e] - exact[e]), 1e-12));
    }
  }
  return worstRatio;
}

test('recovers the exact EMA of a polynomial trajectory within the fit-error bound', async (t) => {
  // Truth: the closed-form EMA of MATH.md.
  const dir = makeTempDir(t);
  const result = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.065,0.08,0.13', '--out-dir', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.targets.length, 3);
  for (const target of report.targets) {
    const worstRatio = await assertWithinFitBound(target);
    // The blend must be much closer to the truth than the nearest tracked EMA is (it does real work).
    assert.ok(worstRatio < 0.2, `sigma_rel ${target.sigma_rel}: reconstruction is no better than the 0.05 snapshot (${worstRatio})`);
  }
});

test('a multi-target run writes byte-identical files to separate single-target runs', async (t) => {
  const together = makeTempDir(t);
  const alone = makeTempDir(t);
  assert.equal((await runCli(['reconstruct', F16_DIR, '--sigma-rel', '0.03,0.08,0.2', '--out-dir', together])).code, 0);
  for (const sigma of ['0.03', '0.08', '0.2']) {
    assert.equal((await runCli(['reconstruct', F16_DIR, '--sigma-rel', sigma, '--out-dir', alone])).code, 0);
  }
  const names = readdirSync(together).sort();
  assert.equal(names.length, 3);
  assert.deepEqual(readdirSync(alone).sort(), names);
  for (const name of names) assert.ok(readFileSync(join(together, name)).equals(readFileSync(join(alone, name))), name);
});

test('keeps each tensor\'s dtype, copies integer tensors from the latest snapshot, writes FORMAT.md metadata', async (t) => {
  const dir = makeTempDir(t);
  const out = join(dir, 'out.safetensors');
  assert.equal((await runCli(['reconstruct', F16_DIR, '--sigma-rel', '0.08', '--out', out])).code, 0);
  const file = await openSafetensors(out);
  const latest = await openSafetensors(join(F16_DIR, 'snapshot-0000065-0.100.safetensors'));
  for (const tensor of latest.tensors) {
    assert.equal(file.tensor(tensor.name).dtype, tensor.dtype, tensor.name);
    assert.deepEqual(file.tensor(tensor.name).shape, tensor.shape, tensor.name);
  }
  const counter = new Uint8Array(8);
  await file.read('num_batches_tracked', 0, counter);
  assert.equal(new DataView(counter.buffer).getBigInt64(0, true), BigInt(HORIZON / 64));
  assert.equal(file.metadata.ema_sigma_rel, '0.08');
  assert.equal(Number(file.metadata.ema_gamma), sigmaRelToGamma(0.08));
  assert.equal(file.metadata.ema_time, String(HORIZON));
  assert.equal(file.metadata.ema_time_unit, 'image');
  assert.equal(file.metadata.ema_snapshots, '32');
  assert.ok(Number(file.metadata.ema_fit_error) > 0 && Number(file.metadata.ema_fit_error) < 0.01);
  assert.equal(file.metadata.run, latest.metadata.run, 'other metadata keys are kept');
  await Promise.all([file.close(), latest.close()]);

  const f32 = join(dir, 'f32.safetensors');
  assert.equal((await runCli(['reconstruct', F16_DIR, '--sigma-rel', '0.08', '--out', f32, '--dtype', 'f32'])).code, 0);
  const converted = await openSafetensors(f32);
  assert.equal(converted.tensor('net.fc.weight').dtype, 'F32');
  assert.equal(converted.tensor('num_batches_tracked').dtype, 'I64');
  await converted.close();
});

test('--time reconstructs mid-training from earlier snapshots only', async (t) => {
  const dir = makeTempDir(t);
  const time = 8 * 4096;
  const result = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--time', String(time), '--out', join(dir, 'mid.safetensors'), '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.targets[0].snapshots_used, 16);
  assert.ok(report.targets[0].coefficients.every((c: { time: number }) => c.time <= time));
  // The fit-error bound, as above (checked: solving for sigma_rel 0.07 or 0.09 instead breaks it, which
  // the earlier 0.01 absolute tolerance let pass).
  assert.equal(report.targets[0].time, time);
  await assertWithinFitBound({ ...report.targets[0], output: join(dir, 'mid.safetensors') });
});

test('skips a time-0 snapshot with a warning and names inconsistent files', async (t) => {
  const dir = makeTempDir(t);
  for (const name of readdirSync(F32_DIR)) copyFileSync(join(F32_DIR, name), join(dir, name));
  await writeSafetensorsFile(join(dir, 'snapshot-0000000-0.050.safetensors'), snapshotTensors(0.05, 4096, 'F32'),
    { ema_sigma_rel: '0.05', ema_time: '0', ema_time_unit: 'image' });
  const ok = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /skipped .*snapshot-0000000-0\.050\.safetensors: a snapshot at time 0 carries no information/);

  const odd = snapshotTensors(0.1, 8192, 'F32').map((x) => (x.name === 'net.fc.bias' ? { ...x, dtype: 'F16' as const, data: x.data.subarray(0, 20) } : x));
  await writeSafetensorsFile(join(dir, 'zz-odd.safetensors'), odd, { ema_sigma_rel: '0.1', ema_time: '12345' });
  const bad = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: .*zz-odd\.safetensors: tensor "net\.fc\.bias" is F16, but F32 in /m);
  const skipped = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run', '--skip-invalid']);
  assert.equal(skipped.code, 0);
  assert.match(skipped.stderr, /warning: skipped .*zz-odd\.safetensors/);

  await writeSafetensorsFile(join(dir, 'twin.safetensors'), snapshotTensors(0.05, 4096, 'F32'), { ema_sigma_rel: '0.05', ema_time: '4096' });
  const twin = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run', '--skip-invalid']);
  assert.equal(twin.code, 1);
  assert.match(twin.stderr, /twin\.safetensors and .*snapshot-0000004-0\.050\.safetensors both hold sigma_rel 0\.05 at time 4096|snapshot-0000004-0\.050\.safetensors and .*twin\.safetensors both hold/);
});

for (const poison of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
  test(`stops on ${poison} in a snapshot, naming file and tensor, unless --allow-nonfinite`, async (t) => {
    const dir = makeTempDir(t);
    for (const name of readdirSync(F32_DIR)) copyFileSync(join(F32_DIR, name), join(dir, name));
    const poisoned = snapshotTensors(0.05, 8192, 'F32').map((x) => {
      if (x.name !== 'net.fc.weight') return x;
      const data = new Uint8Array(x.data);
      new DataView(data.buffer).setFloat32(4 * 17, poison, true);
      return { ...x, data };
    });
    await writeSafetensorsFile(join(dir, 'snapshot-0000008-0.050.safetensors'), poisoned,
      { ema_sigma_rel: '0.05', ema_time: '8192', ema_time_unit: 'image' }, { force: true });
    const out = join(dir, 'out.safetensors');
    const stopped = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--out', out]);
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, new RegExp(`^error: .*snapshot-0000008-0\\.050\\.safetensors: tensor "net\\.fc\\.weight" holds ${String(poison)} at element 17$`, 'm'));
    assert.ok(!readdirSync(dir).some((n) => n.includes('out.safetensors')), 'no output or temporary file left behind');
    const allowed = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--out', out, '--allow-nonfinite', '--json']);
    assert.equal(allowed.code, 0, allowed.stderr);
    // The value reaches exactly its own element (w * Inf is +-Inf by the sign of w); every other one is written as usual.
    const weight = JSON.parse(allowed.stdout).targets[0].coefficients.find((c: { file: string }) => c.file.endsWith('snapshot-0000008-0.050.safetensors')).coefficient;
    const values = await readTensorValues(out, 'net.fc.weight');
    values.forEach((v, i) => assert.ok(i === 17 ? Object.is(v, weight * poison) : Number.isFinite(v), `element ${i} is ${v}`));
  });
}
