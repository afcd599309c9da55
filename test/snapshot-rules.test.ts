/**
 * The rules discovery applies to a snapshot folder (FORMAT.md): times and profiles from EDM2-style
 * names when there is no metadata, one time unit, sigma_rel and gamma agreeing, one tensor layout;
 * each violation named before any output (or temporary file) exists.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensorsFile, type TensorWithData } from '../src/safetensors/writer.js';
import { kimgToImages } from '../src/snapshots/snapshot-name.js';
import { sigmaRelToGamma } from '../src/phema/profile.js';
import { HORIZON } from '../fixtures/polynomial-trajectory.js';
import { FIXTURE_SIGMA_RELS, SNAPSHOT_INTERVAL, snapshotTensors } from '../fixtures/make-snapshots.js';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';
import { readTensorValues } from './helpers/read-tensor.js';

const F32_DIR = join(FIXTURES, 'snapshots-f32');

interface Coefficient { file: string; sigma_rel: number; time: number; coefficient: number }

function edm2Name(sigmaRel: number, images: number): string {
  return `phema-${String(Math.floor(images / 1000)).padStart(7, '0')}-${sigmaRel.toFixed(3)}.safetensors`;
}

test('kimg in an EDM2 name means the multiple of 1024 images whose thousands it is', () => {
  // Truths: EDM2 snapshots at 2^23 and 2^27 images are named 0008388 and 0134217.
  assert.equal(kimgToImages(8388), 2 ** 23);
  assert.equal(kimgToImages(134217), 2 ** 27);
  assert.equal(kimgToImages(4), 4096);
  assert.equal(kimgToImages(65), 65536);
  assert.equal(kimgToImages(0), 0);
  assert.equal(kimgToImages(42), undefined, '[42000, 42999] holds no multiple of 1024 (41984, 43008)');
});

test('a folder of EDM2-named files without metadata gets exact times in images and the same coefficients', async (t) => {
  // The same tensors as the fixture (times 4096 k, whose names say kimg floor(4.096 k)), without any metadata:
  // every time must come from the name, and must be the time the file was written for.
  const dir = makeTempDir(t);
  for (let time = SNAPSHOT_INTERVAL; time <= HORIZON; time += SNAPSHOT_INTERVAL) {
    for (const sigmaRel of FIXTURE_SIGMA_RELS) await writeSafetensorsFile(join(dir, edm2Name(sigmaRel, time)), snapshotTensors(sigmaRel, time, 'F32'));
  }
  const named = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--out', join(dir, 'out.safetensors'), '--json']);
  assert.equal(named.code, 0, named.stderr);
  const withMetadata = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--dry-run', '--json']);
  assert.equal(withMetadata.code, 0, withMetadata.stderr);
  const report = JSON.parse(named.stdout);
  const reference = JSON.parse(withMetadata.stdout);
  assert.equal(report.time, HORIZON);
  assert.equal(report.time_unit, 'image');
  const coefficients: Coefficient[] = report.targets[0].coefficients;
  const expected: Coefficient[] = reference.targets[0].coefficients;
  assert.equal(coefficients.length, 2 * HORIZON / SNAPSHOT_INTERVAL);
  coefficients.forEach((c, i) => {
    const kimg = Number(/phema-(\d{7})-/.exec(c.file)![1]);
    assert.equal(c.time, Math.floor((kimg * 1000 + 999) / 1024) * 1024, c.file); // FORMAT.md's rule
    assert.equal(c.time, expected[i].time, c.file); // ... and the time the snapshot was written for
    assert.equal(c.sigma_rel, expected[i].sigma_rel, c.file);
    assert.equal(c.coefficient, expected[i].coefficient, `${c.file}: same solve as from metadata`);
  });
  assert.equal(report.targets[0].fit_error, reference.targets[0].fit_error);
  const output = await readTensorValues(join(dir, 'out.safetensors'), 'net.fc.weight');
  const fromMetadata = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', join(dir, 'ref.safetensors')]);
  assert.equal(fromMetadata.code, 0, fromMetadata.stderr);
  assert.deepEqual(output, await readTensorValues(join(dir, 'ref.safetensors'), 'net.fc.weight'));
});

test('a name whose kimg matches no multiple of 1024 images is refused, naming the file', async (t) => {
  const dir = makeTempDir(t);
  await writeSafetensorsFile(join(dir, 'phema-0000042-0.050.safetensors'), snapshotTensors(0.05, 4096, 'F32'));
  const result = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: .*phema-0000042-0\.050\.safetensors: kimg 42 in the name matches no multiple of 1024 images/m);
});

function copyFixtures(dir: string): void {
  for (const name of readdirSync(F32_DIR)) copyFileSync(join(F32_DIR, name), join(dir, name));
}

/** Runs a real reconstruction (no --dry-run) into its own folder and checks it failed with nothing written. */
async function refusedBeforeOutput(t: { after(fn: () => void): void }, dir: string, pattern: RegExp): Promise<void> {
  const out = makeTempDir(t);
  const result = await runCli(['reconstruct', dir, '--sigma-rel', '0.08,0.12', '--out-dir', out]);
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, pattern);
  assert.deepEqual(readdirSync(out), [], 'no output and no temporary file');
}

test('a snapshot counting time in another unit is refused, naming both files', async (t) => {
  const dir = makeTempDir(t);
  copyFixtures(dir);
  await writeSafetensorsFile(join(dir, 'snapshot-0000008-0.100.safetensors'), snapshotTensors(0.1, 8192, 'F32'),
    { ema_sigma_rel: '0.1', ema_time: '8192', ema_time_unit: 'step' }, { force: true });
  await refusedBeforeOutput(t, dir, /^error: .*snapshot-0000008-0\.100\.safetensors: time unit "step" differs from "image" in snapshot-\d{7}-0\.\d{3}\.safetensors$/m);
});

test('ema_sigma_rel and ema_gamma must agree (to 1e-3 relative); a rounded sigma_rel is fine', async (t) => {
  const dir = makeTempDir(t);
  copyFixtures(dir);
  const path = join(dir, 'snapshot-0000008-0.100.safetensors');
  const gamma = sigmaRelToGamma(0.1);
  // 0.1 printed to 3 digits still agrees with the exact exponent; the exponent is what is used.
  await writeSafetensorsFile(path, snapshotTensors(0.1, 8192, 'F32'), { ema_sigma_rel: '0.100', ema_gamma: String(gamma * (1 + 5e-4)), ema_time: '8192', ema_time_unit: 'image' }, { force: true });
  assert.equal((await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run'])).code, 0);
  await writeSafetensorsFile(path, snapshotTensors(0.1, 8192, 'F32'), { ema_sigma_rel: '0.1', ema_gamma: String(gamma * (1 + 2e-3)), ema_time: '8192', ema_time_unit: 'image' }, { force: true });
  await refusedBeforeOutput(t, dir, /^error: .*snapshot-0000008-0\.100\.safetensors: metadata disagrees: ema_sigma_rel 0\.1 means gamma 6\.9\d+, but ema_gamma is 6\.9/m);
});

/** A fixture snapshot at an early time (the latest one is the layout reference) with its tensors changed. */
async function writeOdd(dir: string, change: (tensors: TensorWithData[]) => TensorWithData[]): Promise<void> {
  await writeSafetensorsFile(join(dir, 'snapshot-0000008-0.100.safetensors'), change(snapshotTensors(0.1, 8192, 'F32')),
    { ema_sigma_rel: '0.1', ema_time: '8192', ema_time_unit: 'image' }, { force: true });
}

test('layout: an extra tensor, a missing tensor and a different shape are each named before any output', async (t) => {
  const file = /snapshot-0000008-0\.100\.safetensors/.source;
  const extra = makeTempDir(t);
  copyFixtures(extra);
  await writeOdd(extra, (tensors) => [...tensors, { name: 'net.extra', dtype: 'F32', shape: [2], data: new Uint8Array(8) }]);
  await refusedBeforeOutput(t, extra, new RegExp(`^error: .*${file}: tensor "net\\.extra" is not in .*snapshot-0000065-0\\.\\d{3}\\.safetensors`, 'm'));

  const missing = makeTempDir(t);
  copyFixtures(missing);
  await writeOdd(missing, (tensors) => tensors.filter((x) => x.name !== 'net.fc.bias'));
  await refusedBeforeOutput(t, missing, new RegExp(`^error: .*${file}: tensor "net\\.fc\\.bias" of .*snapshot-0000065-0\\.\\d{3}\\.safetensors is missing`, 'm'));

  const reshaped = makeTempDir(t);
  copyFixtures(reshaped);
  await writeOdd(reshaped, (tensors) => tensors.map((x) => (x.name === 'net.fc.weight' ? { ...x, shape: [32, 10] } : x)));
  await refusedBeforeOutput(t, reshaped, new RegExp(`^error: .*${file}: tensor "net\\.fc\\.weight" has shape \\[32,10\\], but \\[10,32\\] in `, 'm'));
});

test('layout: a different dtype is named before any output, not only in a dry run', async (t) => {
  const dir = makeTempDir(t);
  copyFixtures(dir);
  await writeOdd(dir, (tensors) => tensors.map((x) => (x.name === 'net.fc.bias' ? { ...x, dtype: 'F16', data: x.data.subarray(0, 20) } : x)));
  await refusedBeforeOutput(t, dir, /^error: .*snapshot-0000008-0\.100\.safetensors: tensor "net\.fc\.bias" is F16, but F32 in /m);
});
