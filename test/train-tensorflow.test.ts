/**
 * The trainer on native TensorFlow (@tensorflow/tfjs-node, e.g. built by `npm run setup:tensorflow`;
 * .ci/run installs it). Every test is skipped, with the reason printed, where it is not installed.
 * The parity test against the official network's numbers is in train-parity.test.ts.
 */
import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { openSafetensors } from '../src/safetensors/reader.js';
import { selectBackend } from '../src/train/backend.js';
import { createShapesDataset } from '../src/train/data/builtin-shapes.js';
import { runTraining } from '../src/train/loop.js';
import { resolveTrainConfig } from '../src/train/train-config.js';
import { readFloatTensors } from '../src/train/tensor-file.js';
import { trainRun } from '../src/train/train-run.js';
import { runCli } from './train-helpers.js';

const NATIVE = '@tensorflow/tfjs-node';
// TensorFlow prints INFO banners (oneDNN, CPU features) on stderr when loaded, unless told not to.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
const installed = await import(NATIVE as string).then(() => true, () => false);
/** In CI (.ci/run sets EMA_SYNTH_CI=1, after installing the backend) these tests fail rather than skip. */
const required = process.env.EMA_SYNTH_CI === '1';
const skip = installed || required ? false : `${NATIVE} is not installed (npm run setup:tensorflow installs it; CI does)`;

const BATCH = 8;
// Tiny config; an explicit schedule (no ramp-up, decay from step 1) so that every step moves the weights.
const COMMON = ['--data', 'builtin:shapes', '--config', 'tiny', '--batch', String(BATCH), '--seed', '0', '--lr', '0.02',
  '--ref-batches', '1', '--rampup-images', '0'];

let root: string;
before(async () => { root = await mkdtemp(join(tmpdir(), 'ema-synth-tf-')); });
after(async () => { await rm(root, { recursive: true, force: true }); });

async function stepLosses(backend: 'tensorflow' | 'wasm', steps: number): Promise<number[]> {
  const losses: number[] = [];
  const summary = await trainRun({
    out: join(root, `losses-${backend}`), backend, workers: 0, resume: false, saveRaw: false, force: false,
    data: 'builtin:shapes', preset: 'tiny', batch: BATCH, durationImages: steps * BATCH, snapshotEveryImages: steps * BATCH,
    refLr: 0.02, refBatches: 1, rampupImages: 0, seed: 0,
  }, { onEvent: (e) => { if (e.type === 'step') losses.push(e.loss); } });
  assert.equal(summary.backend, backend);
  return losses;
}

describe('native TensorFlow backend', () => {
  test('is installed in CI (EMA_SYNTH_CI=1)', { skip: required ? false : 'EMA_SYNTH_CI is not set' }, () => {
    assert.ok(installed, `${NATIVE} does not load: run npm run setup:tensorflow`);
  });

  test('auto picks it, and --threads sizes its pool', { skip }, async () => {
    assert.equal(await selectBackend('auto', { threads: 2 }), 'tensorflow');
    assert.equal(process.env.TF_NUM_INTRAOP_THREADS, '2');
    await assert.rejects(selectBackend('tensorflow', { threads: 3 }), /already started with 2 threads/);
  });

  test('50 training steps from one seed give the same losses as on wasm (within 1e-5 relative)', { skip }, async () => {
    const steps = 50;
    const native = await stepLosses('tensorflow', steps);
    const wasm = await stepLosses('wasm', steps);
    assert.equal(native.length, steps);
    let worst = 0;
    for (let i = 0; i < steps; i++) worst = Math.max(worst, Math.abs(native[i] - wasm[i]) / Math.abs(wasm[i]));
    // Measured: at most 2.8e-7 (TensorFlow 2.19 wheel, oneDNN). The kernels sum in different orders,
    // so float32 rounding differs from step 1 and the runs drift apart slowly through Adam; a wrong
    // gradient anywhere would move the losses by far more after a step or two.
    assert.ok(worst < 1e-5, `largest relative loss difference over ${steps} steps: ${worst}`);
    assert.ok(native[steps - 1] < native[0], `the loss did not fall: ${native[0]} -> ${native[steps - 1]}`);
  });

  test('resuming from a checkpoint reproduces the uninterrupted run bit for bit', { skip }, async () => {
    const a = join(root, 'resume-a');
    const b = join(root, 'resume-b');
    const flags = [...COMMON, '--backend', 'tensorflow', '--snapshot-every', String(4 * BATCH), '--status-every', String(4 * BATCH)];
    assert.equal((await runCli(['train', ...flags, '--out', a, '--duration', String(8 * BATCH)])).code, 0);
    assert.equal((await runCli(['train', ...flags, '--out', b, '--duration', String(4 * BATCH)])).code, 0);
    const resumed = await runCli(['train', '--out', b, '--resume', '--duration', String(8 * BATCH), '--backend', 'tensorflow']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const files = (await readdir(join(a, 'snapshots'))).sort();
    assert.deepEqual((await readdir(join(b, 'snapshots'))).sort(), files);
    for (const name of [...files.map((f) => join('snapshots', f)), 'checkpoint.safetensors']) {
      const [x, y] = await Promise.all([readFile(join(a, name)), readFile(join(b, name))]);
      assert.ok(x.equals(y), `${name} differs between the resumed and the uninterrupted run`);
    }
  });

  test('live tensors stay constant and RSS flat over 300 steps', { skip }, async () => {
    await selectBackend('tensorflow');
    const steps = 300;
    const config = resolveTrainConfig({
      preset: 'tiny', data: 'builtin:shapes', resolution: 8, channels: 3, batch: 4, durationImages: steps * 4,
      snapshotEveryImages: steps * 4, statusEveryImages: 100 * 4, refBatches: 1, rampupImages: 0, seed: 0,
    });
    await mkdir(join(root, 'memory'));
    const tensors = new Map<number, number>();
    const rss: Array<[number, number]> = [];
    await runTraining({
      runDir: join(root, 'memory'), config, dataset: createShapesDataset('shapes', 8), saveRaw: false,
      onEvent: (e) => {
        if (e.type !== 'step' || e.step % 10 !== 0) return;
        tensors.set(e.step, tf.memory().numTensors);
        rss.push([e.step, process.memoryUsage().rss / 2 ** 20]);
      },
    });
    // From step 50 on (allocator and kernel caches warm), nothing may accumulate.
    const counts = [...tensors.entries()].filter(([s]) => s >= 50);
    assert.ok(counts.every(([, n]) => n === counts[0][1]), `live tensors by step: ${JSON.stringify(counts)}`);
    // RSS swings by up to ~85 MB between samples (the allocators return memory in bursts; measured
    // 501-586 MB), so medians of steps 50-150 and 200-300 are compared: a leak of 0.3 MB a step
    // (a fraction of one step's activations) adds 45 MB between them.
    const median = (from: number, to: number): number => {
      const v = rss.filter(([s]) => s >= from && s <= to).map(([, r]) => r).sort((p, q) => p - q);
      return v[v.length >> 1];
    };
    const growth = median(200, 300) - median(50, 150);
    assert.ok(growth < 40, `RSS median grew by ${growth.toFixed(1)} MB (${rss.map(([s, r]) => `${s}: ${r.toFixed(0)}`).join(', ')})`);
  });

  test('snapshots written on TensorFlow are read by reconstruct, which reproduces a tracked EMA', { skip }, async () => {
    const run = join(root, 'snapshots-run');
    const trained = await runCli(['train', ...COMMON, '--backend', 'tensorflow', '--out', run, '--duration', String(8 * BATCH),
      '--snapshot-every', String(2 * BATCH)]);
    assert.equal(trained.code, 0, trained.stderr);
    const out = join(root, 'reconstructed');
    const result = await runCli(['reconstruct', join(run, 'snapshots'), '--sigma-rel', '0.1', '--out-dir', out, '--json']);
    assert.equal(result.code, 0, result.stderr);
    // sigma_rel 0.10 at the last snapshot time is one of the tracked profiles: the solve must give it back.
    const [made] = await readdir(out);
    const tracked = join(run, 'snapshots', `network-snapshot-img${String(8 * BATCH).padStart(10, '0')}-0.100.safetensors`);
    const [x, y] = await Promise.all([join(out, made), tracked].map(async (p) => {
      const file = await openSafetensors(p);
      try { return await readFloatTensors(file); } finally { await file.close(); }
    }));
    let worst = 0;
    for (const [name, t] of y) {
      const r = x.get(name);
      assert.ok(r !== undefined, `${name} missing from the reconstruction`);
      for (let i = 0; i < t.data.length; i++) worst = Math.max(worst, Math.abs(r.data[i] - t.data[i]));
    }
    assert.ok(worst < 1e-4, `reconstruction differs from the tracked EMA by up to ${worst}`);
  });
});
