/**
 * The network as a whole (cpu backend unless stated): size, initial output, determinism, the
 * official snapshot layout, multi-head attention against a naive loop, gradient consistency with
 * finite differences, dropout and labels, and the worker-parallel gradients.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { InputFileError } from '../src/errors.js';
import { selectBackend } from '../src/train/backend.js';
import { buildArchitecture } from '../src/train/model/architecture.js';
import { cosineAttention } from '../src/train/model/attention.js';
import { NETWORK_PRESETS, presetConfig } from '../src/train/model/config.js';
import { flattenParams, loadFlatParams } from '../src/train/model/flat-params.js';
import {
  createNetwork, denoise, forceNormalizeWeights, lossAndGradients, parameterCount,
} from '../src/train/model/network.js';
import { startParallelGradients } from '../src/train/model/parallel-gradients.js';
import { SIGMA_DATA } from '../src/train/model/precond.js';
import { exportTensors, importTensors } from '../src/train/model/snapshot-layout.js';
import { runUnet } from '../src/train/model/unet.js';
import { prepareWeights } from '../src/train/model/weight-pass.js';

await selectBackend('cpu');

function batch(n: number, r: number, c: number, seed: number): { y: tf.Tensor4D; noise: tf.Tensor4D; sigma: tf.Tensor1D } {
  return {
    y: tf.randomNormal([n, r, r, c], 0, 0.5, 'float32', seed) as tf.Tensor4D,
    noise: tf.randomNormal([n, r, r, c], 0, 1, 'float32', seed + 1) as tf.Tensor4D,
    sigma: tf.exp(tf.randomNormal([n], -0.8, 1.6, 'float32', seed + 2)) as tf.Tensor1D,
  };
}

/** Gains are zero at initialisation, which hides most paths; give them non-zero values. */
function liven(net: ReturnType<typeof createNetwork>): void {
  let i = 0;
  for (const v of net.params.values()) if (v.rank === 0) v.assign(tf.scalar(0.3 + 0.1 * (i++ % 5)));
}

test('small16 has 407,155 parameters for RGB and 406,291 for greyscale (MPUNET.md section 8)', () => {
  const rgb = createNetwork(NETWORK_PRESETS.small16, 0);
  const grey = createNetwork({ ...NETWORK_PRESETS.small16, channels: 1 }, 0);
  assert.equal(parameterCount(rgb), 407_155);
  assert.equal(parameterCount(grey), 406_291);
  rgb.dispose();
  grey.dispose();
});

test('at initialisation the UNet output is exactly zero, so D(x; sigma) = c_skip x', () => {
  const net = createNetwork(NETWORK_PRESETS.tiny, 1);
  const { y: x, sigma } = batch(3, 8, 3, 10);
  const weights = prepareWeights(net.architecture, net.params);
  const f = runUnet(net.architecture, (n) => weights.tensors.get(n) as tf.Tensor,
    (n) => net.buffers.get(n) as tf.Tensor, { x, cNoise: tf.div(tf.log(sigma), 4) as tf.Tensor1D });
  assert.ok(f.dataSync().every((v) => v === 0), 'UNet output not all zero');
  const d = denoise(net, x, sigma);
  const cSkip = tf.div(SIGMA_DATA ** 2, tf.add(tf.square(sigma), SIGMA_DATA ** 2));
  assert.deepEqual(d.dataSync(), tf.mul(tf.reshape(cSkip, [-1, 1, 1, 1]), x).dataSync());
  weights.dispose();
  net.dispose();
});

test('denoise follows parameter changes (its cached effective weights are refreshed)', () => {
  const net = createNetwork(NETWORK_PRESETS.tiny, 16);
  liven(net);
  const { y: x, sigma } = batch(2, 8, 3, 60);
  const first = denoise(net, x, sigma).dataSync();
  assert.deepEqual(denoise(net, x, sigma).dataSync(), first);
  (net.params.get('unet.out_gain') as tf.Variable).assign(tf.scalar(1.7));
  const changed = denoise(net, x, sigma).dataSync();
  assert.notDeepEqual(changed, first);
  // Truth: a fresh network holding the same tensors, never evaluated before.
  const fresh = createNetwork(NETWORK_PRESETS.tiny, 99);
  importTensors(fresh, new Map(exportTensors(net, 'all').map((t) => [t.name, t])));
  assert.deepEqual(denoise(fresh, x, sigma).dataSync(), changed);
  // Callers may wrap denoise in tf.tidy; a cache filled inside one must survive it.
  (net.params.get('unet.out_gain') as tf.Variable).assign(tf.scalar(0.4));
  const inTidy = (): Float32Array => tf.tidy(() => tf.mul(denoise(net, x, sigma), 1)).dataSync() as Float32Array;
  const once = inTidy();
  assert.notDeepEqual(once, changed);
  assert.deepEqual(inTidy(), once);
  net.dispose();
  fresh.dispose();
});

test('a seed determines the network; another seed gives another network', () => {
  const a = exportTensors(createNetwork(NETWORK_PRESETS.tiny, 5), 'all');
  const b = exportTensors(createNetwork(NETWORK_PRESETS.tiny, 5), 'all');
  const c = exportTensors(createNetwork(NETWORK_PRESETS.tiny, 6), 'all');
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.map((t) => t.data), c.map((t) => t.data));
});

test('export uses official names and shapes, and import restores the exact tensors', () => {
  const config = NETWORK_PRESETS.tiny;
  const source = createNetwork(config, 7);
  liven(source);
  const exported = exportTensors(source, 'all');
  const arch = buildArchitecture(config);
  assert.deepEqual(exported.map((t) => t.name), [...arch.params.map((p) => p.name), ...arch.buffers.map((b) => b.name)]);
  const qkv = exported.find((t) => t.name === 'unet.enc.4x4_block0.attn_qkv.weight');
  assert.deepEqual(qkv?.shape, [48, 16, 1, 1]);
  assert.deepEqual(exported.find((t) => t.name === 'unet.emb_noise.weight')?.shape, [16, 8]);

  const target = createNetwork(config, 8);
  importTensors(target, new Map(exported.map((t) => [t.name, t])));
  assert.deepEqual(exportTensors(target, 'all'), exported);
  assert.deepEqual(flattenParams(target), flattenParams(source));
  source.dispose();
  target.dispose();
});

test('import names a missing or mis-shaped tensor', () => {
  const net = createNetwork(NETWORK_PRESETS.tiny, 9);
  const tensors = new Map(exportTensors(net).map((t) => [t.name, t]));
  const missing = new Map<string, { shape: number[]; data: Float32Array }>(tensors);
  missing.delete('unet.out_conv.weight');
  assert.throws(() => importTensors(net, missing), (e: unknown) =>
    e instanceof InputFileError && /'unet\.out_conv\.weight' is missing/.test(e.message));
  const wrong = new Map<string, { shape: number[]; data: Float32Array }>(tensors);
  wrong.set('unet.emb_noise.weight', { shape: [8, 16], data: new Float32Array(128) });
  assert.throws(() => importTensors(net, wrong), (e: unknown) =>
    e instanceof InputFileError && /'unet\.emb_noise\.weight' has shape \[8, 16\].*expected \[16, 8\]/.test(e.message));
  net.dispose();
});

test('multi-head cosine attention equals a naive per-pixel loop over the official interleaved qkv layout', () => {
  const [n, h, w, c, heads] = [2, 2, 3, 8, 2];
  const ch = c / heads;
  const x = tf.randomNormal([n, h, w, c], 0, 1, 'float32', 11) as tf.Tensor4D;
  // Our grouped effective weight [1,1,C,3C]: column s*C + j is official output channel j*3 + s.
  const wq = tf.randomNormal([1, 1, c, 3 * c], 0, 0.3, 'float32', 12) as tf.Tensor4D;
  const ours = cosineAttention(x, wq, heads).dataSync();
  const xd = x.dataSync();
  const wd = wq.dataSync();
  const pixels = h * w;
  const official = (o: number): number => (o % 3) * c + Math.floor(o / 3); // official o -> our column
  const norm = (v: number[]): number[] => {
    const r = Math.sqrt(v.reduce((a, b) => a + b * b, 0) / v.length) + 1e-4;
    return v.map((e) => e / r);
  };
  let worst = 0;
  for (let b = 0; b < n; b++) {
    // qkv[p][o] with the official channel index o = (head*ch + c')*3 + s
    const qkv = Array.from({ length: pixels }, (_, p) => Array.from({ length: 3 * c }, (_, o) => {
      let acc = 0;
      for (let i = 0; i < c; i++) acc += xd[(b * pixels + p) * c + i] * wd[i * 3 * c + official(o)];
      return acc;
    }));
    for (let head = 0; head < heads; head++) {
      const part = (p: number, s: number): number[] => norm(Array.from({ length: ch }, (_, j) => qkv[p][(head * ch + j) * 3 + s]));
      for (let p = 0; p < pixels; p++) {
        const logits = Array.from({ length: pixels }, (_, p2) => part(p, 0).reduce((a, q, j) => a + q * part(p2, 1)[j], 0) / Math.sqrt(ch));
        const mx = Math.max(...logits);
        const e = logits.map((l) => Math.exp(l - mx));
        const z = e.reduce((a, v) => a + v, 0);
        for (let j = 0; j < ch; j++) {
          const want = e.reduce((a, v, p2) => a + (v / z) * part(p2, 2)[j], 0);
          worst = Math.max(worst, Math.abs(want - ours[(b * pixels + p) * c + head * ch + j]));
        }
      }
    }
  }
  assert.ok(worst < 1e-5, `max difference ${worst}`);
});

test('gradients agree with central finite differences of the loss along random directions (tiny)', () => {
  const net = createNetwork(NETWORK_PRESETS.tiny, 13);
  liven(net);
  forceNormalizeWeights(net);
  const { y, noise, sigma } = batch(2, 8, 3, 20);
  // Moderate noise levels keep the loss O(100) so float32 differences resolve the slope.
  const s = tf.clipByValue(sigma, 0.3, 3) as tf.Tensor1D;
  const { loss, grads } = lossAndGradients(net, y, s, noise);
  const theta = flattenParams(net);
  const g = new Float32Array(theta.length);
  let offset = 0;
  for (const spec of net.architecture.params) {
    const data = (grads.get(spec.name) as tf.Tensor).dataSync();
    g.set(data, offset);
    offset += data.length;
  }
  const lossAt = (t: Float32Array): number => {
    loadFlatParams(net, t);
    const r = lossAndGradients(net, y, s, noise);
    const v = r.loss.dataSync()[0];
    tf.dispose([r.loss, ...r.grads.values()]);
    return v;
  };
  for (let trial = 0; trial < 3; trial++) {
    const dir = Float32Array.from(tf.randomNormal([theta.length], 0, 1, 'float32', 30 + trial).dataSync());
    const eps = 1e-3;
    const plus = lossAt(theta.map((v, i) => v + eps * dir[i]));
    const minus = lossAt(theta.map((v, i) => v - eps * dir[i]));
    const fd = (plus - minus) / (2 * eps);
    const analytic = g.reduce((a, v, i) => a + v * dir[i], 0);
    assert.ok(Math.abs(fd - analytic) < 2e-3 * Math.abs(analytic) + 1e-2,
      `direction ${trial}: finite difference ${fd}, gradient ${analytic} (loss ${loss.dataSync()[0]})`);
  }
  net.dispose();
});

test('dropout is seeded in training and absent in eval; labels feed a conditional network', () => {
  const config = { ...presetConfig('tiny'), dropout: 0.2, labelDim: 4 };
  const net = createNetwork(config, 14);
  liven(net);
  assert.equal(parameterCount(net), parameterCount(createNetwork(NETWORK_PRESETS.tiny, 0)) + 4 * 16);
  const { y, noise, sigma } = batch(2, 8, 3, 40);
  const labels = tf.oneHot(tf.tensor1d([1, 3], 'int32'), 4).toFloat() as tf.Tensor2D;
  const loss = (seed: number): number => lossAndGradients(net, y, sigma, noise, { labels, dropoutSeed: seed }).loss.dataSync()[0];
  assert.equal(loss(1), loss(1));
  assert.notEqual(loss(1), loss(2));
  assert.deepEqual(denoise(net, y, sigma, { labels }).dataSync(), denoise(net, y, sigma, { labels }).dataSync());
  const other = tf.oneHot(tf.tensor1d([0, 0], 'int32'), 4).toFloat() as tf.Tensor2D;
  assert.notDeepEqual(denoise(net, y, sigma, { labels }).dataSync(), denoise(net, y, sigma, { labels: other }).dataSync());
  net.dispose();
});

test('worker-parallel loss and gradients equal the single-thread ones (wasm, tiny)', async () => {
  await selectBackend('wasm');
  const net = createNetwork(NETWORK_PRESETS.tiny, 15);
  liven(net);
  const { y, noise, sigma } = batch(5, 8, 3, 50);
  const parallel = await startParallelGradients(NETWORK_PRESETS.tiny, 'wasm', 1);
  try {
    const single = lossAndGradients(net, y, sigma, noise);
    const split = await parallel.lossAndGradients(net, y, sigma, noise);
    const l1 = single.loss.dataSync()[0];
    const l2 = split.loss.dataSync()[0];
    assert.ok(Math.abs(l1 - l2) < 1e-5 * Math.abs(l1), `loss ${l1} vs ${l2}`);
    for (const [name, g] of single.grads) {
      const a = g.dataSync();
      const b = (split.grads.get(name) as tf.Tensor).dataSync();
      const scale = Math.max(1e-6, ...Array.from(a, Math.abs));
      const err = Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
      assert.ok(err < 1e-5 * scale, `${name}: ${err} of ${scale}`);
    }
  } finally {
    await parallel.close();
    await selectBackend('cpu');
  }
});
