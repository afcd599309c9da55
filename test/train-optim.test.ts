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

/** Distance in float32 units in the last place, at the magnitude of `expected`. */
function ulps(actual: number, expected: number): number {
  const exponent = Math.floor(Math.log2(Math.max(Math.abs(expected), 2 ** -126)));
  return Math.abs(actual - expected) / 2 ** (exponent - 23);
}

describe('Adam', () => {
  // Column 1's gradients are so small that sqrt(v) is comparable with eps, so where eps enters shows;
  // columns 2 and 3 get NaN and -Inf/+Inf gradients, which count as 0 (force_finite).
  const start = [1, 1e-3, 0.5, -2, 0.25];
  const grads = [
    [0.1, 2e-8, Number.NaN, Number.NEGATIVE_INFINITY, 0.7],
    [0.3, -1e-8, 1, -0.5, -0.7],
    [-0.2, 3e-8, Number.POSITIVE_INFINITY, 2, 0],
  ];
  const lrs = [0.01, 0.02, 0.005];

  function run(steps: number): { p: Float32Array; m: Float32Array; v: Float32Array; step: number } {
    const variable = tf.variable(tf.tensor1d(start));
    const params = new Map([['w', variable]]);
    const adam = new Adam(params);
    for (let k = 0; k < steps; k++) adam.apply(params, new Map([['w', tf.tensor1d(grads[k])]]), lrs[k]);
    const state = adam.exportState();
    const result = { p: variable.dataSync() as Float32Array, m: state.m.get('w')!, v: state.v.get('w')!, step: state.step };
    adam.dispose();
    variable.dispose();
    return result;
  }

  test('the first step is p - lr g / (|g| + eps), worked out by hand', () => {
    // m = 0.1 g, v = 0.01 g^2; bias-corrected: m / 0.1 = g and sqrt(v) / sqrt(0.01) = |g|.
    const { p, step } = run(1);
    assert.equal(step, 1);
    start.forEach((p0, i) => {
      const g = Number.isFinite(grads[0][i]) ? Math.fround(grads[0][i]) : 0;
      const expected = g === 0 ? p0 : p0 - lrs[0] * g / (Math.abs(g) + 1e-8);
      assert.ok(ulps(p[i], expected) <= 2, `p[${i}]: ${p[i]} vs ${expected}`);
    });
    assert.ok(Math.abs(p[1] - (1e-3 - 0.01 * 2 / 3)) < 1e-9, 'eps counts beside |g| = 2e-8, after the bias correction');
  });

  test('three steps equal torch.optim.Adam\'s float32 numbers (test/reference/adam-torch.py)', () => {
    // torch 1.13 (Debian's python3-torch), printed by the script and kept exactly.
    const torch = {
      p: [0.970389187335968, -0.011101363226771355, 0.4822746813297272, -1.9875421524047852, 0.2412565052509308],
      m: [0.015099997632205486, 3.7199998637049703e-09, 0.08999999612569809, 0.1550000011920929, -0.006299998611211777],
      v: [0.0013890101108700037, 1.3910398576283747e-17, 0.00989999994635582, 0.04247500002384186, 0.009653490036725998],
    };
    const { p, m, v, step } = run(3);
    assert.equal(step, 3);
    for (let i = 0; i < start.length; i++) {
      // Parameters to 1 ulp (they are equal today). Moments to 4 ulps: torch rounds each of lerp's and
      // addcmul's operations to float32 where we round once, and m[0] = 0.0351 - 0.02 cancels 2 bits
      // (measured: m[0] 3 ulps apart, every other moment 0 or 1).
      assert.ok(ulps(p[i], torch.p[i]) <= 1, `p[${i}]: ${p[i]} vs torch ${torch.p[i]}`);
      assert.ok(ulps(m[i], torch.m[i]) <= 4, `m[${i}]: ${m[i]} vs torch ${torch.m[i]}`);
      assert.ok(ulps(v[i], torch.v[i]) <= 4, `v[${i}]: ${v[i]} vs torch ${torch.v[i]}`);
    }
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
