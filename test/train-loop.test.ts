import { strict as assert } from 'node:assert';
import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { sigmaRelToGamma } from '../src/phema/profile.js';
import { openSafetensors } from '../src/safetensors/reader.js';
import { readCheckpoint } from '../src/train/checkpoint.js';
import { createShapesDataset } from '../src/train/data/builtin-shapes.js';
import { loadNetworkFile } from '../src/train/load-network.js';
import { presetConfig } from '../src/train/model/config.js';
import { createNetwork, lossAndGradients, type Network } from '../src/train/model/network.js';
import { CounterRng } from '../src/train/rng.js';
import { readFloatTensors } from '../src/train/tensor-file.js';
import { runTraining } from '../src/train/loop.js';
import { resolveTrainConfig } from '../src/train/train-config.js';
import { runCli } from './train-helpers.js';

// Tiny config, batch 8, a snapshot (and raw weights) after every one of 8 steps, cpu backend; a
// higher learning rate than the default so that 8 steps visibly lower the loss.
const COMMON = ['--data', 'builtin:shapes', '--config', 'tiny', '--batch', '8', '--snapshot-every', '8', '--save-raw', '--backend', 'cpu', '--seed', '0', '--lr', '0.05',
  // Explicit schedule: the scaled defaults depend on --duration, which the two halves of the resume test differ in.
  '--ref-batches', '1', '--rampup-images', '0',
  // Status intervals that end where the first half of the resume test ends (a run logs at its end).
  '--status-every', '16'];
const STEPS = 8;
const BATCH = 8;
let root: string;
let runA: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ema-synth-train-'));
  runA = join(root, 'a');
  const result = await runCli(['train', ...COMMON, '--out', runA, '--duration', String(STEPS * BATCH)]);
  assert.equal(result.code, 0, result.stderr);
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function tensorsOf(path: string): Promise<Map<string, Float32Array>> {
  const file = await openSafetensors(path);
  try {
    return new Map([...(await readFloatTensors(file))].map(([name, t]) => [name, t.data]));
  } finally {
    await file.close();
  }
}

const label = (nimg: number): string => `img${String(nimg).padStart(10, '0')}`;

describe('train loop', () => {
  test('saved EMAs equal the power-function EMA recomputed from the raw weights (closed-form weights)', async () => {
    // EMA after k updates at times j*B: sum_j w_j theta_j with w_j = (j^(g+1) - (j-1)^(g+1)) / k^(g+1),
    // the telescoped product of the tracking betas (MATH.md); computed here in float64 from the raw files.
    const raws: Array<Map<string, Float32Array>> = [];
    for (let j = 1; j <= STEPS; j++) raws.push(await tensorsOf(join(runA, 'raw', `network-raw-${label(j * BATCH)}.safetensors`)));
    for (const sigmaRel of [0.05, 0.1]) {
      const gamma = sigmaRelToGamma(sigmaRel);
      for (const k of [1, 2, STEPS]) {
        const ema = await tensorsOf(join(runA, 'snapshots', `network-snapshot-${label(k * BATCH)}-${sigmaRel.toFixed(3)}.safetensors`));
        let worst = 0;
        for (const [name, saved] of ema) {
          for (let e = 0; e < saved.length; e++) {
            let expected = 0;
            for (let j = 1; j <= k; j++) {
              const w = (j ** (gamma + 1) - (j - 1) ** (gamma + 1)) / k ** (gamma + 1);
              expected += w * raws[j - 1].get(name)![e];
            }
            worst = Math.max(worst, Math.abs(saved[e] - expected));
          }
        }
        // float32 lerps of O(1) weights: a few ulps per update.
        assert.ok(worst < 2e-6, `sigma_rel ${sigmaRel}, step ${k}: max |EMA - closed form| = ${worst}`);
      }
    }
  });

  test('snapshots are readable safetensors with official tensor names and FORMAT.md metadata', async () => {
    const names = (await readdir(join(runA, 'snapshots'))).sort();
    assert.equal(names.length, 2 * STEPS);
    const file = await openSafetensors(join(runA, 'snapshots', `network-snapshot-${label(3 * BATCH)}-0.050.safetensors`));
    try {
      const net = createNetwork(presetConfig('tiny'), 0);
      const expected = [...net.architecture.params.map((p) => p.name), ...net.architecture.buffers.map((b) => b.name)].sort();
      net.dispose();
      assert.deepEqual(file.tensors.map((t) => t.name).sort(), expected);
      assert.ok(file.tensors.every((t) => t.dtype === 'F32'));
      assert.equal(file.metadata.ema_sigma_rel, '0.05');
      assert.ok(Math.abs(Number(file.metadata.ema_gamma) - sigmaRelToGamma(0.05)) < 1e-12);
      assert.equal(file.metadata.ema_time, String(3 * BATCH));
      assert.equal(file.metadata.ema_time_unit, 'image');
      assert.deepEqual(JSON.parse(file.metadata.ema_synth_network), presetConfig('tiny'));
      assert.equal(file.metadata.ema_synth_data, 'builtin:shapes');
    } finally {
      await file.close();
    }
  });

  test('resuming from a checkpoint reproduces the uninterrupted run bit for bit (cpu)', async () => {
    const runB = join(root, 'b');
    const first = await runCli(['train', ...COMMON, '--out', runB, '--duration', String((STEPS / 2) * BATCH)]);
    assert.equal(first.code, 0, first.stderr);
    const second = await runCli(['train', '--out', runB, '--resume', '--duration', String(STEPS * BATCH), '--backend', 'cpu', '--save-raw']);
    assert.equal(second.code, 0, second.stderr);
    for (const folder of ['snapshots', 'raw']) {
      const files = (await readdir(join(runA, folder))).sort();
      assert.deepEqual((await readdir(join(runB, folder))).sort(), files);
      for (const name of files) {
        const [a, b] = await Promise.all([readFile(join(runA, folder, name)), readFile(join(runB, folder, name))]);
        assert.ok(a.equals(b), `${folder}/${name} differs between the resumed and the uninterrupted run`);
      }
    }
    const [ca, cb] = await Promise.all([readFile(join(runA, 'checkpoint.safetensors')), readFile(join(runB, 'checkpoint.safetensors'))]);
    assert.ok(ca.equals(cb), 'final checkpoints differ (weights, Adam moments, EMAs or state)');
    // log.jsonl agrees too, except for timing.
    const withoutTiming = async (dir: string) => (await readFile(join(dir, 'log.jsonl'), 'utf8')).trim().split('\n')
      .map((line) => { const { images_per_second: _, ...rest } = JSON.parse(line) as Record<string, number>; return rest; });
    assert.deepEqual(await withoutTiming(runB), await withoutTiming(runA));
  });

  test('an interrupted run (abort mid status interval) resumes to the same state as the uninterrupted one', async () => {
    const runC = join(root, 'c');
    await mkdir(runC);
    const config = resolveTrainConfig({
      preset: 'tiny', data: 'builtin:shapes', resolution: 8, channels: 3, batch: BATCH, durationImages: STEPS * BATCH,
      snapshotEveryImages: 8, statusEveryImages: 16, refLr: 0.05, refBatches: 1, rampupImages: 0, seed: 0,
    });
    const dataset = createShapesDataset('shapes', 8);
    const controller = new AbortController();
    const first = await runTraining({
      runDir: runC, config, dataset, saveRaw: true, signal: controller.signal,
      onEvent: (event) => { if (event.type === 'step' && event.curNimg === 3 * BATCH) controller.abort(); },
    });
    assert.deepEqual([first.interrupted, first.curNimg], [true, 3 * BATCH]);
    const state = await readCheckpoint(join(runC, 'checkpoint.safetensors'));
    assert.equal(state.interval.count, 1); // step 3 is inside the interval that ends at 32 images
    const second = await runTraining({ runDir: runC, config, dataset, saveRaw: true, resumeFrom: state });
    assert.deepEqual([second.interrupted, second.curNimg], [false, STEPS * BATCH]);
    const [ca, cc] = await Promise.all([readFile(join(runA, 'checkpoint.safetensors')), readFile(join(runC, 'checkpoint.safetensors'))]);
    assert.ok(ca.equals(cc), 'final checkpoints differ after an interruption');
    const last = `network-snapshot-${label(STEPS * BATCH)}-0.050.safetensors`;
    assert.ok((await readFile(join(runA, 'snapshots', last))).equals(await readFile(join(runC, 'snapshots', last))));
  });

  test('training lowers the EDM2 loss on a fixed probe batch', async () => {
    // Same initial network as the run (seed 0), then the raw weights after the last step.
    const config = presetConfig('tiny');
    const initial = createNetwork(config, 0);
    const { net: trained } = await loadNetworkFile(join(runA, 'raw', `network-raw-${label(STEPS * BATCH)}.safetensors`));
    const probe = probeBatch(16);
    const before = probeLoss(initial, probe);
    const afterTraining = probeLoss(trained, probe);
    initial.dispose();
    trained.dispose();
    tf.dispose([probe.y, probe.sigma, probe.noise]);
    assert.ok(afterTraining < 0.95 * before, `probe loss ${before} -> ${afterTraining} after ${STEPS} steps`);
  });
});

function probeBatch(n: number): { y: tf.Tensor4D; sigma: tf.Tensor1D; noise: tf.Tensor4D } {
  const dataset = createShapesDataset('shapes', 8);
  const size = 8 * 8 * 3;
  const images = new Float32Array(n * size);
  for (let i = 0; i < n; i++) dataset.readHeldOut(i, images, i * size);
  const rng = new CounterRng([12345]);
  const sigma = Float32Array.from({ length: n }, (_, i) => Math.exp(-0.8 + 1.6 * (-2 + (4 * i) / (n - 1))));
  return {
    y: tf.tensor4d(images, [n, 8, 8, 3]),
    sigma: tf.tensor1d(sigma),
    noise: tf.tensor4d(rng.fillNormal(new Float32Array(n * size)), [n, 8, 8, 3]),
  };
}

function probeLoss(net: Network, probe: { y: tf.Tensor4D; sigma: tf.Tensor1D; noise: tf.Tensor4D }): number {
  const { loss, grads } = lossAndGradients(net, probe.y, probe.sigma, probe.noise);
  const value = loss.dataSync()[0];
  tf.dispose([loss, ...grads.values()]);
  return value;
}

// Slow variant (EMA_SYNTH_SLOW_TESTS=1, about a minute on wasm): 256 steps lower the held-out
// denoising metric of `evaluate`, not only the training loss.
describe('train loop (slow)', { skip: process.env.EMA_SYNTH_SLOW_TESTS !== '1' }, () => {
  test('a longer tiny run lowers the held-out validation metric', async () => {
    const { evaluateDenoising } = await import('../src/train/evaluate.js');
    const dir = join(root, 'slow');
    const result = await runCli(['train', '--data', 'builtin:shapes', '--config', 'tiny', '--out', dir, '--duration', '2048', '--snapshot-every', '2048', '--backend', 'wasm']);
    assert.equal(result.code, 0, result.stderr);
    const dataset = createShapesDataset('shapes', 8);
    const initial = createNetwork(presetConfig('tiny'), 0);
    const { net: trained } = await loadNetworkFile(join(dir, 'snapshots', 'network-snapshot-0000002-0.100.safetensors'));
    const before = evaluateDenoising(initial, dataset, { count: 64 }).metric;
    const afterTraining = evaluateDenoising(trained, dataset, { count: 64 }).metric;
    initial.dispose();
    trained.dispose();
    assert.ok(afterTraining < 0.95 * before, `validation metric ${before} -> ${afterTraining}`);
  });
});
