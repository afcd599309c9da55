import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sigmaRelToGamma } from '../src/phema/profile.js';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';
import { readTensorValues } from './helpers/read-tensor.js';

// An ema-pytorch PostHocEMA folder written with update_every 10 by the PyTorch re-implementation
// (fixtures/pytorch/make_ema_pytorch_fixtures.py), every element on theta(s) = sum_m c_m (s / H)^k_m.
const FOLDER = join(FIXTURES, 'pytorch', 'ema-pytorch-sparse');
const expected = JSON.parse(readFileSync(join(FIXTURES, 'pytorch', 'ema-pytorch-sparse-expected.json'), 'utf8'));
const PROFILES = expected.sigma_rels.join(',');

/** The true power EMA at time t of the closed-form trajectory: sum_m c_m (gamma+1)/(gamma+k_m+1) (t/H)^k_m. */
function trueEma(name: string, gamma: number, time: number): number[] {
  const rows: number[][] = expected.coefficients[name];
  return rows.map((c) => c.reduce((sum, cm, m) => sum + cm * ((gamma + 1) / (gamma + expected.exponents[m] + 1)) * (time / expected.horizon) ** expected.exponents[m], 0));
}

async function worstError(flags: string[], sigmaRel: number, dir: string): Promise<{ error: number; fitError: number }> {
  const out = join(dir, `${flags.join('')}-${sigmaRel}.safetensors`);
  const result = await runCli(['reconstruct', FOLDER, '--profiles', PROFILES, '--sigma-rel', String(sigmaRel), '--out', out, '--dtype', 'f32', '--json', ...flags]);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout).targets[0];
  let error = 0;
  for (const name of Object.keys(expected.coefficients)) {
    const truth = trueEma(name, sigmaRelToGamma(sigmaRel), report.time);
    const actual = await readTensorValues(out, name);
    truth.forEach((v, e) => { error = Math.max(error, Math.abs(actual[e] - v)); });
  }
  return { error, fitError: report.fit_error };
}

test('with --update-every 10 the realised profiles reconstruct the true EMA at least 5x closer than the nominal ones', async (t) => {
  const dir = makeTempDir(t);
  for (const sigmaRel of [0.1, 0.12, 0.15]) {
    const realised = await worstError(['--update-every', '10'], sigmaRel, dir);
    const nominal = await worstError(['--update-every', '1'], sigmaRel, dir);
    assert.ok(realised.error * 5 <= nominal.error, `sigma_rel ${sigmaRel}: realised ${realised.error}, nominal ${nominal.error}`);
    assert.ok(realised.fitError < 0.05, `sigma_rel ${sigmaRel}: the realised profiles support it (fit error ${realised.fitError})`);
    t.diagnostic(`sigma_rel ${sigmaRel}: worst error realised ${realised.error.toExponential(2)}, nominal ${nominal.error.toExponential(2)} (${(nominal.error / realised.error).toFixed(1)}x)`);
  }
});

test('inspect shows nominal and realised widths and fits with the realised profiles; the warning stays only without --update-every', async () => {
  const realised = await runCli(['inspect', FOLDER, '--profiles', PROFILES, '--update-every', '10', '--sigma-rel', '0.02,0.1', '--json']);
  assert.equal(realised.code, 0, realised.stderr);
  assert.doesNotMatch(realised.stderr, /warning/);
  const inspection = JSON.parse(realised.stdout);
  assert.equal(inspection.snapshot_profiles, 'realised');
  const widths = inspection.profiles.map((p: { sigma_rel: number; realised_sigma_rel: number }) => [p.sigma_rel, p.realised_sigma_rel]);
  assert.deepEqual(widths.map((w: number[]) => w[0]), [0.01, 0.02]);
  assert.ok(widths[0][1] > 0.07 && widths[0][1] < 0.1 && widths[1][1] > 0.12 && widths[1][1] < 0.17, JSON.stringify(widths));
  // A narrow target the nominal profiles would promise is not supported by what the snapshots really hold.
  const fit = (i: { fit: { fit_error: number }[] }, j: number) => i.fit[j].fit_error;
  const nominal = JSON.parse((await runCli(['inspect', FOLDER, '--profiles', PROFILES, '--update-every', '1', '--sigma-rel', '0.02,0.1', '--json'])).stdout);
  assert.equal(nominal.profiles[0].realised_sigma_rel, null);
  assert.ok(fit(nominal, 0) < 1e-6 && fit(inspection, 0) > 0.1, `${fit(nominal, 0)} vs ${fit(inspection, 0)}`);
  const text = await runCli(['inspect', FOLDER, '--profiles', PROFILES, '--update-every', '10', '--sigma-rel', '0.1']);
  assert.match(text.stdout, /tracked sigma_rel +realised +gamma/);
  assert.match(text.stdout, /with the realised profiles/);
  const warned = await runCli(['inspect', FOLDER, '--profiles', PROFILES, '--sigma-rel', '0.1']);
  assert.match(warned.stderr, /warning: ema-pytorch does not correct beta.*--update-every K/);
});

test('ema-pytorch folders take every target kind (steps: --beta needs no --beta-every), with realised profiles too', async (t) => {
  const dir = makeTempDir(t);
  const result = await runCli(['reconstruct', FOLDER, '--profiles', PROFILES, '--update-every', '10', '--beta', '0.995', '--window', '30%', '--sigma-rel', '0.12', '--out-dir', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.equal(report.snapshot_profiles, 'realised');
  assert.deepEqual(report.targets.map((x: { target: string }) => x.target), ['sigma_rel 0.12', 'beta 0.995', 'window 30%']);
  assert.equal(report.targets[1].parameters.beta_every, 1);
  assert.ok(Math.abs(report.targets[1].parameters.half_life - Math.LN2 / -Math.log(0.995)) < 1e-9);
  // The realised exponential fit is good, and its tensor matches the closed-form exponential average.
  assert.ok(report.targets[1].fit_error < 0.05, String(report.targets[1].fit_error));
  const rate = report.targets[1].parameters.rate;
  const T = report.time;
  const a = rate * T;
  for (const name of Object.keys(expected.coefficients)) {
    const actual = await readTensorValues(report.targets[1].output, name);
    const rows: number[][] = expected.coefficients[name];
    rows.forEach((c, e) => {
      // sum_m c_m (T/H)^k_m a G_k(a) / (1 - e^-a), G for k = 0 and 2 in closed form, k = 0.5 by Simpson in sqrt(u).
      const g = (k: number): number => {
        if (k === 0) return -Math.expm1(-a) / a;
        if (k === 2) return 1 / a - 2 / a ** 2 + 2 / a ** 3 - (2 * Math.exp(-a)) / a ** 3;
        let sum = 0;
        const panels = 4000;
        const f = (s: number): number => 2 * s * s * Math.exp(-a * (1 - s * s));
        for (let i = 0; i <= panels; i++) sum += (i === 0 || i === panels ? 1 : i % 2 === 1 ? 4 : 2) * f(i / panels);
        return sum / (3 * panels);
      };
      const truth = c.reduce((sum, cm, m) => sum + cm * (T / expected.horizon) ** expected.exponents[m] * a * g(expected.exponents[m]) / -Math.expm1(-a), 0);
      assert.ok(Math.abs(actual[e] - truth) < 0.03, `${name}[${e}]: ${actual[e]} vs ${truth}`);
    });
  }
});

test('--match ema-pytorch keeps ema-pytorch\'s coefficients and reports their fit against the realised profiles', async () => {
  const args = ['reconstruct', FOLDER, '--profiles', PROFILES, '--sigma-rel', '0.12', '--match', 'ema-pytorch', '--dry-run', '--json'];
  const nominal = JSON.parse((await runCli([...args, '--update-every', '1'])).stdout).targets[0];
  const realised = JSON.parse((await runCli([...args, '--update-every', '10'])).stdout).targets[0];
  assert.deepEqual(realised.coefficients.map((c: { coefficient: number }) => c.coefficient), nominal.coefficients.map((c: { coefficient: number }) => c.coefficient));
  assert.notEqual(realised.fit_error, nominal.fit_error);
  assert.ok(realised.fit_error > 0.1, `ema-pytorch's nominal solve is far from the truth: ${realised.fit_error}`);
});

test('fit warnings with realised profiles reason with the realised widths', async () => {
  const result = await runCli(['reconstruct', FOLDER, '--profiles', PROFILES, '--update-every', '10', '--sigma-rel', '0.05', '--dry-run']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /warning: sigma_rel 0\.05: fit error [\d.]+% is large: the target is narrower than the narrowest realised profile \(sigma_rel 0\.08\d*\)/);
  assert.match(result.stdout, /fit with the snapshots' realised profiles/);
});
