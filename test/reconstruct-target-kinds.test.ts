import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors } from '../src/safetensors/reader.js';
import { elementCount } from '../src/tensors/tensor-source.js';
import { EXPONENTS, exactTargetAverage, FIXTURE_TENSORS, HORIZON, trajectoryCoefficients } from '../fixtures/polynomial-trajectory.js';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';
import { readTensorValues } from './helpers/read-tensor.js';

const F32_DIR = join(FIXTURES, 'snapshots-f32');
const F16_DIR = join(FIXTURES, 'snapshots-f16');
const PARAMS = FIXTURE_TENSORS.map((t, index) => ({ ...t, index })).filter((t) => t.kind === 'param');

/** ||theta_e||_2 over [0, t] for the polynomial trajectory (as in reconstruct.test.ts). */
function trajectoryNorm(coefficients: Float64Array, e: number, time: number): number {
  const u = time / HORIZON;
  let integral = 0;
  for (let m = 0; m < EXPONENTS.length; m++) {
    for (let n = 0; n < EXPONENTS.length; n++) {
      const power = EXPONENTS[m] + EXPONENTS[n] + 1;
      integral += (coefficients[e * 3 + m] * coefficients[e * 3 + n] * u ** power) / power;
    }
  }
  return Math.sqrt(HORIZON * integral);
}

test('exponential (beta, half-life) and window reconstructions of a polynomial trajectory are within their fit-error bound', async (t) => {
  // Truth: closed-form averages of u^k (fixtures/polynomial-trajectory.ts). Bound (Cauchy-Schwarz):
  // |recon - exact| <= fit_error * ||r|| * ||theta|| + float32 rounding, with ||r||^2 = <r, r> in time units.
  const dir = makeTempDir(t);
  const result = await runCli(['reconstruct', F32_DIR, '--half-life', '5%,10%', '--beta', '0.999', '--beta-every', '8', '--window', '30%,60%', '--out-dir', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.deepEqual(report.targets.map((x: { kind: string }) => x.kind), ['exponential', 'exponential', 'exponential', 'window', 'window']);
  for (const target of report.targets) {
    const time = target.time;
    const profile = target.kind === 'window' ? { kind: 'window' as const, width: target.parameters.window } : { kind: 'exponential' as const, rate: target.parameters.rate };
    const selfProduct = profile.kind === 'window' ? 1 / profile.width
      : (profile.rate * (1 + Math.exp(-profile.rate * time))) / (-2 * Math.expm1(-profile.rate * time));
    if (target.kind === 'exponential') assert.ok(target.fit_error < 0.01, `${target.target}: fit error ${target.fit_error}`);
    let worst = 0;
    for (const tensor of PARAMS) {
      const elements = elementCount(tensor.shape);
      const exact = exactTargetAverage(tensor.index, elements, time, profile);
      const actual = await readTensorValues(target.output, tensor.name);
      const coefficients = trajectoryCoefficients(tensor.index, elements);
      for (let e = 0; e < elements; e++) {
        const bound = target.fit_error * Math.sqrt(selfProduct) * trajectoryNorm(coefficients, e, time) + 1e-6 * Math.abs(exact[e]) + 1e-7;
        const error = Math.abs(actual[e] - exact[e]);
        assert.ok(error <= bound, `${tensor.name}[${e}] for ${target.target}: error ${error} > bound ${bound}`);
        worst = Math.max(worst, error / bound);
      }
    }
    assert.ok(worst > 1e-3, `${target.target}: the bound is far from tight (${worst}), so the check would not notice much`);
  }
});

test('--beta 0.999 --beta-every 8 is the same target as --half-life ln2/rate', async () => {
  const beta = JSON.parse((await runCli(['reconstruct', F32_DIR, '--beta', '0.999', '--beta-every', '8', '--dry-run', '--json'])).stdout).targets[0];
  const halfLife = (8 * Math.LN2) / -Math.log(0.999);
  assert.ok(Math.abs(beta.parameters.half_life - halfLife) < 1e-9 * halfLife);
  const same = JSON.parse((await runCli(['reconstruct', F32_DIR, '--half-life', String(halfLife), '--dry-run', '--json'])).stdout).targets[0];
  assert.ok(Math.abs(same.fit_error - beta.fit_error) < 1e-9, `${same.fit_error} vs ${beta.fit_error}`);
});

test('metadata says what each target is, names differ per kind, and a mixed run equals single-kind runs byte for byte', async (t) => {
  const together = makeTempDir(t);
  const alone = makeTempDir(t);
  const targets = [['--sigma-rel', '0.08'], ['--half-life', '5%'], ['--window', '20%'], ['--beta', '0.9995', '--beta-every', '16']];
  const mixed = await runCli(['reconstruct', F16_DIR, ...targets.flat(), '--out-dir', together]);
  assert.equal(mixed.code, 0, mixed.stderr);
  for (const flags of targets) assert.equal((await runCli(['reconstruct', F16_DIR, ...flags, '--out-dir', alone])).code, 0);
  const names = readdirSync(together).sort();
  assert.deepEqual(names, [
    `ema-beta0.9995-every16-time${HORIZON}.safetensors`, `ema-halflife5pct-time${HORIZON}.safetensors`,
    `ema-sigma0.08-time${HORIZON}.safetensors`, `ema-window20pct-time${HORIZON}.safetensors`,
  ]);
  assert.deepEqual(readdirSync(alone).sort(), names);
  for (const name of names) assert.ok(readFileSync(join(together, name)).equals(readFileSync(join(alone, name))), name);
  const metadata = async (name: string): Promise<Record<string, string>> => {
    const file = await openSafetensors(join(together, name));
    await file.close();
    return file.metadata;
  };
  const power = await metadata(names[2]);
  assert.equal(power.ema_profile, 'power');
  assert.equal(power.ema_sigma_rel, '0.08');
  const exponential = await metadata(names[1]);
  assert.equal(exponential.ema_profile, 'exponential');
  assert.equal(Number(exponential.ema_half_life), 0.05 * HORIZON);
  assert.equal(exponential.ema_sigma_rel, undefined, 'not a power profile, so no sigma_rel that discovery would misread');
  const window = await metadata(names[3]);
  assert.equal(window.ema_profile, 'window');
  assert.equal(Number(window.ema_window), 0.2 * HORIZON);
  assert.ok(Math.abs(Number(window.ema_width) - 0.2 / Math.sqrt(12)) < 1e-12);
  const beta = await metadata(names[0]);
  assert.deepEqual([beta.ema_profile, beta.ema_beta, beta.ema_beta_every], ['exponential', '0.9995', '16']);
  for (const m of [power, exponential, window, beta]) assert.equal(m.ema_time_unit, 'image');
});

test('target flags are checked with one clear error line', async () => {
  const cases: [string[], RegExp][] = [
    [['--beta', '0.9999'], /--beta needs --beta-every: the snapshots count images/],
    [['--beta', '1.5', '--beta-every', '1'], /--beta 1\.5 must be between 0 and 1/],
    [['--beta-every', '4', '--sigma-rel', '0.1'], /--beta-every applies to --beta targets/],
    [['--window', '100000'], /--window 100000 is longer than the run up to the target time \(65536 images\)/],
    [['--window', '150%'], /--window 150% is more than the whole run/],
    [['--half-life', '5%,1000'], /--half-life "5%,1000": give every value in time units or every value as a percentage/],
    [['--half-life', '-3'], /--half-life/],
    [['--half-life', '5%', '--match', 'ema-pytorch'], /--match ema-pytorch reconstructs power-function targets only, not half-life 5%/],
  ];
  for (const [flags, message] of cases) {
    const result = await runCli(['reconstruct', F32_DIR, ...flags, '--dry-run']);
    assert.notEqual(result.code, 0, flags.join(' '));
    assert.match(result.stderr, message, flags.join(' '));
    assert.equal(result.stderr.split('\n').filter((l) => l.startsWith('error:')).length, 1);
  }
});

test('reports and inspect show each target by kind with its width; power-only tables are unchanged', async () => {
  const table = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--half-life', '10%', '--dry-run']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^target +width +time \(images\)/);
  assert.match(table.stdout, /half-life 10% +0\.14\d+ +65536 +32 /);
  assert.match(table.stdout, /sigma_rel 0\.08 +0\.08 +65536/);
  const power = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--dry-run']);
  assert.match(power.stdout, /^sigma_rel +gamma +time/);
  const inspect = await runCli(['inspect', F32_DIR, '--window', '10%,50%', '--json']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const fit = JSON.parse(inspect.stdout).fit;
  assert.deepEqual(fit.map((f: { target: string }) => f.target), ['window 10%', 'window 50%']);
  assert.ok(fit[0].fit_error > fit[1].fit_error, 'a short window is harder to build from power profiles than a long one');
});

test('a file whose metadata names another profile kind is not taken for a snapshot', async (t) => {
  const { writeSafetensorsFile } = await import('../src/safetensors/writer.js');
  const { snapshotTensors } = await import('../fixtures/make-snapshots.js');
  const { copyFileSync } = await import('node:fs');
  const dir = makeTempDir(t);
  for (const name of readdirSync(F32_DIR)) copyFileSync(join(F32_DIR, name), join(dir, name));
  await writeSafetensorsFile(join(dir, 'odd.safetensors'), snapshotTensors(0.05, 4096, 'F32'), { ema_profile: 'window', ema_window: '100', ema_time: '5000' });
  const result = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: .*odd\.safetensors: metadata ema_profile is "window"; snapshots must hold power-function EMAs/m);
});
