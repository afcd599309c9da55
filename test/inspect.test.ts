import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { statSync, readdirSync } from 'node:fs';
import { sigmaRelToGamma } from '../src/phema/profile.js';
import { FIXTURES, runCli } from './helpers/cli.js';

const F16_DIR = join(FIXTURES, 'snapshots-f16');

test('inspect describes profiles, cadence, size and the fit per target, as one JSON document', async () => {
  const result = await runCli(['inspect', F16_DIR, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const inspection = JSON.parse(result.stdout);
  assert.equal(inspection.snapshots, 32);
  assert.deepEqual(inspection.profiles.map((p: { sigma_rel: number; snapshots: number; cadence: number }) => [p.sigma_rel, p.snapshots, p.cadence]), [[0.05, 16, 4096], [0.1, 16, 4096]]);
  assert.equal(inspection.time_unit, 'image');
  assert.deepEqual(inspection.dtypes, { F16: 5, F32: 1, I64: 1 });
  assert.equal(inspection.parameters, 216 + 1 + 576 + 320 + 10 + 16);
  const onDisk = readdirSync(F16_DIR).reduce((sum, name) => sum + statSync(join(F16_DIR, name)).size, 0);
  assert.equal(inspection.bytes_on_disk, onDisk);
  assert.equal(inspection.fit.length, 28, 'default grid 0.01..0.28');
  // The tracked profiles themselves are reproduced exactly; narrower ones fit worse (MATH.md).
  const fitOf = (sigma: number) => inspection.fit.find((f: { sigma_rel: number }) => f.sigma_rel === sigma).fit_error;
  assert.ok(fitOf(0.05) < 1e-6 && fitOf(0.1) < 1e-6);
  assert.ok(fitOf(0.01) > fitOf(0.03) && fitOf(0.03) > fitOf(0.08));
  assert.equal(inspection.fit[7].gamma, sigmaRelToGamma(0.08));
});

test('inspect prints a readable report and marks poor fits', async () => {
  const result = await runCli(['inspect', F16_DIR, '--sigma-rel', '0.02,0.08']);
  assert.equal(result.code, 0);
  assert.match(result.stdout, /32 snapshots/);
  assert.match(result.stdout, /0\.02 .* poor/);
  assert.doesNotMatch(result.stdout, /0\.08 .* poor/);
});
