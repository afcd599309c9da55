import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Adam } from '../src/train/adam.js';
import { learningRate } from '../src/train/lr-schedule.js';
import { CounterRng, permutation } from '../src/train/rng.js';
import { parseImageCount, resolveTrainConfig } from '../src/train/train-config.js';

describe('learning-rate schedule', () => {
  const options = { refLr: 0.01, refBatches: 100, batch: 32, rampupImages: 1000 };
  test('equals ref_lr / sqrt(max(t / (ref_batches batch), 1)) min(t / rampup, 1)', () => {
    assert.equal(learningRate(0, options), 0); // the first step has lr 0, as in the official loop
    assert.ok(Math.abs(learningRate(500, options) - 0.005) < 1e-15); // half way up the ramp
    assert.ok(Math.abs(learningRate(3200, options) - 0.01) < 1e-15); // t = ref_batches * batch
    assert.ok(Math.abs(learningRate(12800, options) - 0.005) < 1e-15); // 4x later: 1/sqrt(4)
    assert.equal(learningRate(100, { ...options, rampupImages: 0 }), 0.01);
  });

  test('short-run defaults scale with the duration and are documented values', () => {
    const config = resolveTrainConfig({ preset: 'tiny', data: 'builtin:shapes', resolution: 8, channels: 3, durationImages: 8000, batch: 8 });
    assert.equal(config.refBatches, 100); // 10% of 1000 steps
    assert.equal(config.rampupImages, 400); // 5% of 8000 images, whole batches
    assert.equal(config.snapshotEveryImages, 1024); // the preset's, a multiple of 1024 and of the batch
    const odd = resolveTrainConfig({ preset: 'tiny', data: 'builtin:shapes', resolution: 8, channels: 3, durationImages: 2400, batch: 24 });
    assert.equal(odd.snapshotEveryImages, 1032); // rounded to whole batches: 43 * 24
  });
});

describe('Adam', () => {
  test('matches a hand-computed torch-style step, replacing non-finite gradients with 0', () => {
    const p = tf.variable(tf.tensor1d([1, -2, 0.5]));
    const params = new Map([['w', p]]);
    const adam = new Adam(params);
    const g1 = [0.1, -0.4, Number.NaN];
    const g2 = [0.3, 0.2, 1];
    adam.apply(params, new Map([['w', tf.tensor1d(g1)]]), 0.01);
    adam.apply(params, new Map([['w', tf.tensor1d(g2)]]), 0.02);
    // float64 reference of the same two steps.
    const expected = [1, -2, 0.5];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    [[g1, 0.01], [g2, 0.02]].forEach(([g, lr], k) => {
      const t = k + 1;
      for (let i = 0; i < 3; i++) {
        const gi = Number.isFinite((g as number[])[i]) ? (g as number[])[i] : 0;
        m[i] = 0.9 * m[i] + 0.1 * gi;
        v[i] = 0.99 * v[i] + 0.01 * gi * gi;
        const mHat = m[i] / (1 - 0.9 ** t);
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - 0.99 ** t) + 1e-8;
        expected[i] -= (lr as number) * mHat / denom;
      }
    });
    const got = p.dataSync();
    for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i] - expected[i]) < 1e-6, `${got[i]} vs ${expected[i]}`);
    // First step of a bias-corrected Adam moves each coordinate by lr * sign(g): a second check.
    assert.ok(Math.abs((1 - 0.01) - (1 - 0.01 * Math.sign(0.1))) < 1e-15);
    const state = adam.exportState();
    assert.equal(state.step, 2);
    assert.ok(Math.abs(state.m.get('w')![2] - 0.1) < 1e-7); // only g2 = 1 contributed: 0.1 * 1
    adam.dispose();
    p.dispose();
  });
});

describe('counter-based RNG', () => {
  test('equal keys give equal streams; different keys differ; normals have mean 0 and variance 1', () => {
    const a = new CounterRng([1, 2, 3]).fillNormal(new Float32Array(20000));
    const b = new CounterRng([1, 2, 3]).fillNormal(new Float32Array(20000));
    const c = new CounterRng([1, 2, 4]).fillNormal(new Float32Array(20000));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
    const mean = a.reduce((s, x) => s + x, 0) / a.length;
    const variance = a.reduce((s, x) => s + (x - mean) ** 2, 0) / a.length;
    // 20,000 samples: standard errors 0.007 (mean) and 0.01 (variance); 5 sigma bounds.
    assert.ok(Math.abs(mean) < 0.035, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.05, `variance ${variance}`);
  });

  test('permutations contain every index once', () => {
    const order = permutation(1000, new CounterRng([9]));
    assert.deepEqual([...order].sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  });
});

describe('image counts', () => {
  test('accept plain numbers and k / Ki / M / Mi suffixes, and name the flag otherwise', () => {
    assert.equal(parseImageCount('--duration', '8Ki'), 8192);
    assert.equal(parseImageCount('--duration', '10k'), 10000);
    assert.equal(parseImageCount('--duration', '2Mi'), 2097152);
    assert.equal(parseImageCount('--duration', '640'), 640);
    assert.throws(() => parseImageCount('--duration', '1.5'), /--duration 1\.5: expected a positive whole number of images/);
    assert.throws(() => parseImageCount('--snapshot-every', 'abc'), /--snapshot-every abc/);
  });
});
