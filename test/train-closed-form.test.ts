/**
 * `evaluate`, `sweep --eval builtin` and `sample` against a denoiser known in closed form: with every
 * float weight zero, the network's F is 0 and D(x; sigma) = c_skip(sigma) x, c_skip = sigma_data^2 /
 * (sigma^2 + sigma_data^2) (EDM preconditioning, docs/MPUNET.md). The expected numbers are then worked
 * out here in float64 from the documented definitions (src/train/evaluate.ts, sampler.ts), not through the network.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openSafetensors } from '../src/safetensors/reader.js';
import { writeSafetensorsFile, type TensorWithData } from '../src/safetensors/writer.js';
import { createShapesDataset } from '../src/train/data/builtin-shapes.js';
import { CounterRng, RngStream } from '../src/train/rng.js';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';

const RUN = join(FIXTURES, 'train-run/snapshots');
const SIGMA_DATA = 0.5;
/** The evaluation levels (src/train/evaluate.ts documents them; README: "nine fixed noise levels (0.02 to 10)"). */
const LEVELS = [0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];

/** A copy of a snapshot with every float tensor zeroed; metadata (network config, data set) kept. */
async function zeroedCopy(from: string, to: string): Promise<void> {
  const file = await openSafetensors(from);
  const tensors: TensorWithData[] = [];
  for (const tensor of file.tensors) {
    const data = new Uint8Array(tensor.byteLength);
    if (!tensor.dtype.startsWith('F') && tensor.dtype !== 'BF16') await file.read(tensor.name, 0, data);
    tensors.push({ name: tensor.name, dtype: tensor.dtype, shape: tensor.shape, data });
  }
  const metadata = file.metadata;
  await file.close();
  await writeSafetensorsFile(to, tensors, metadata);
}

/**
 * The metric by its definition: mean over levels of the mean over held-out images of
 * lambda(sigma) * mean over values of (D(y + sigma e) - y)^2, lambda = (sigma^2 + sd^2) / (sigma sd)^2,
 * with e from the evaluation noise stream keyed (seed, image, level), here with D = c_skip x.
 */
function closedFormMetric(images: number, seed: number): number {
  const dataset = createShapesDataset('shapes', 8);
  const size = 8 * 8 * 3;
  const clean = new Float32Array(size);
  let metric = 0;
  LEVELS.forEach((sigma, k) => {
    const cSkip = SIGMA_DATA ** 2 / (sigma ** 2 + SIGMA_DATA ** 2);
    const lambda = (sigma ** 2 + SIGMA_DATA ** 2) / (sigma * SIGMA_DATA) ** 2;
    let total = 0;
    for (let j = 0; j < images; j++) {
      dataset.readHeldOut(j, clean, 0);
      const rng = new CounterRng([seed, RngStream.evalNoise, j, k]);
      let squares = 0;
      for (let e = 0; e < size; e++) {
        const noisy = Math.fround(clean[e] + sigma * rng.normal());
        squares += (cSkip * noisy - clean[e]) ** 2;
      }
      total += lambda * squares / size;
    }
    metric += total / images / LEVELS.length;
  });
  return metric;
}

test('held-out images are not training images', () => {
  const dataset = createShapesDataset('shapes', 8);
  const [a, b] = [new Float32Array(192), new Float32Array(192)];
  for (let i = 0; i < 8; i++) {
    dataset.readHeldOut(i, a, 0);
    dataset.readTrain(i, b, 0);
    assert.notDeepEqual(a, b, `image ${i}`);
  }
});

test('evaluate and sweep --eval builtin give the closed-form metric of a zero network (relative 1e-6)', async (t) => {
  const dir = makeTempDir(t);
  const snapshots = join(dir, 'snapshots');
  mkdirSync(snapshots);
  for (const name of readdirSync(RUN)) await zeroedCopy(join(RUN, name), join(snapshots, name));
  // Float32 network arithmetic against a float64 sum over up to 256 x 192 x 9 terms: 1e-6 relative.
  const close = (actual: number, expected: number, what: string): void =>
    assert.ok(Math.abs(actual - expected) <= 1e-6 * expected, `${what}: ${actual} vs ${expected}`);

  // The sweep with its defaults (seed 0, 256 held-out images); the evaluate command with other ones.
  const swept = await runCli(['sweep', snapshots, '--sigma-rel', '0.08', '--eval', 'builtin', '--out-dir', join(dir, 'out'), '--json']);
  assert.equal(swept.code, 0, swept.stderr);
  close(JSON.parse(swept.stdout).targets[0].metric, closedFormMetric(256, 0), 'sweep --eval builtin');

  const evaluated = await runCli(['evaluate', join(snapshots, 'network-snapshot-0000008-0.050.safetensors'), '--seed', '3', '--count', '24', '--batch', '10', '--json']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  close(JSON.parse(evaluated.stdout).metric, closedFormMetric(24, 3), 'evaluate --seed 3 --count 24 --batch 10');
});

/**
 * Heun's method on dx/dt = (x - D(x; t)) / t with D = c_skip(t) x, by hand: the slope is a(t) x with
 * a(t) = (1 - c_skip(t)) / t = t / (t^2 + sd^2), so every step multiplies x by a number:
 * Euler 1 + h a(t_i); Heun 1 + h/2 (a(t_i) + a(t_{i+1}) (1 + h a(t_i))), h = t_{i+1} - t_i, with no
 * correction on the last step (to t = 0). The schedule is EDM's: sigma 80 down to 0.002, rho 7.
 */
function closedFormGain(steps: number): number {
  const t: number[] = [];
  for (let i = 0; i < steps; i++) t.push((80 ** (1 / 7) + (steps === 1 ? 0 : i / (steps - 1)) * (0.002 ** (1 / 7) - 80 ** (1 / 7))) ** 7);
  t.push(0);
  const slope = (sigma: number): number => sigma / (sigma ** 2 + SIGMA_DATA ** 2);
  let gain = t[0]; // x_0 = t_0 * noise
  for (let i = 0; i < steps; i++) {
    const h = t[i + 1] - t[i];
    const euler = 1 + h * slope(t[i]);
    gain *= i < steps - 1 ? 1 + (h / 2) * (slope(t[i]) + slope(t[i + 1]) * euler) : euler;
  }
  return gain;
}

test('sample draws exactly the hand-computed Heun trajectory of a zero network, pixel for pixel', async (t) => {
  const dir = makeTempDir(t);
  const checkpoint = join(dir, 'zero.safetensors');
  await zeroedCopy(join(RUN, 'network-snapshot-0000008-0.050.safetensors'), checkpoint);
  const { default: pngjs } = await import('pngjs');
  const [count, size] = [9, 8 * 8 * 3];
  for (const steps of [3, 8]) {
    const out = join(dir, `grid-${steps}.png`);
    const result = await runCli(['sample', checkpoint, '--out', out, '--count', String(count), '--steps', String(steps), '--seed', '5', '--batch', '4', '--scale', '1', '--backend', 'cpu']);
    assert.equal(result.code, 0, result.stderr);
    const png = pngjs.PNG.sync.read(readFileSync(out));
    // 3 x 3 tiles of 8 x 8, 2 white pixels apart and from the border (an eighth of a tile, at least 2).
    const [gap, pitch] = [2, 10];
    assert.deepEqual([png.width, png.height], [3 * pitch + gap, 3 * pitch + gap]);
    assert.deepEqual([...png.data.subarray(0, 4)], [255, 255, 255, 255], 'the border is white');
    const gain = closedFormGain(steps);
    let checked = 0;
    for (let i = 0; i < count; i++) {
      const rng = new CounterRng([5, RngStream.samplerNoise, i]); // image i's starting noise
      for (let e = 0; e < size; e++) {
        const value = gain * rng.normal();
        const [pixel, channel] = [Math.floor(e / 3), e % 3];
        const [x, y] = [gap + (i % 3) * pitch + (pixel % 8), gap + Math.floor(i / 3) * pitch + Math.floor(pixel / 8)];
        const actual = png.data[(y * png.width + x) * 4 + channel];
        // The 8-bit value of the float64 result (x * 127.5 + 128, floored, clipped); float32 arithmetic
        // may land on the other side of a level boundary only when within 1e-4 of it.
        const level = value * 127.5 + 128;
        const nearBoundary = Math.abs(level - Math.round(level)) < 1e-4 * 127.5;
        const expected = Math.min(255, Math.max(0, Math.floor(level)));
        if (nearBoundary) assert.ok(Math.abs(actual - expected) <= 1, `steps ${steps}, image ${i}, value ${e}`);
        else {
          assert.equal(actual, expected, `steps ${steps}, image ${i}, value ${e}: ${value}`);
          checked++;
        }
      }
    }
    assert.ok(checked > 0.95 * count * size, `${checked} values compared exactly`);
  }
});
