import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { CounterRng } from '../src/train/rng.js';
import { heunSample, noiseSchedule, SAMPLER_DEFAULTS } from '../src/train/sampler.js';

describe('EDM sampler', () => {
  test('the noise schedule follows the formula (N = 32, sigma 0.002..80, rho 7)', () => {
    const t = noiseSchedule();
    assert.equal(t.length, 33);
    // Closed form evaluated independently; endpoints exactly sigma_max and sigma_min.
    const a = 80 ** (1 / 7);
    const b = 0.002 ** (1 / 7);
    for (const i of [0, 1, 10, 31]) assert.ok(Math.abs(t[i] - (a + (i / 31) * (b - a)) ** 7) <= 1e-12 * t[i]);
    assert.ok(Math.abs(t[0] - 80) < 1e-12);
    assert.ok(Math.abs(t[31] - 0.002) < 1e-15);
    assert.equal(t[32], 0);
    for (let i = 1; i < 33; i++) assert.ok(t[i] < t[i - 1]);
    // A hand value: t_1 = (80^(1/7) + (0.002^(1/7) - 80^(1/7)) / 31)^7 = (1.8703 - 0.04705)^7 = 66.93.
    assert.ok(Math.abs(t[1] - 66.93) < 0.01, `t_1 = ${t[1]}`);
  });

  test('Heun on Gaussian data matches a scalar float64 Heun and approaches the exact ODE solution', () => {
    // Data N(0, s^2) per element: the ideal denoiser is D(x; sigma) = s^2 / (s^2 + sigma^2) x and the
    // ODE dx/dsigma = (x - D) / sigma has the solution x(sigma) = x(T) sqrt(s^2 + sigma^2) / sqrt(s^2 + T^2).
    const s = 0.5;
    const schedule = noiseSchedule({ ...SAMPLER_DEFAULTS, steps: 32 });
    const noise = tf.tensor4d([1, -0.5, 2, 0.25], [1, 2, 2, 1]);
    let calls = 0;
    const result = heunSample((x, sigma) => {
      calls += 1;
      return tf.mul(x, (s * s) / (s * s + sigma * sigma)) as tf.Tensor4D;
    }, noise, schedule);
    const got = result.dataSync();
    // Second method: the same Heun steps on one scalar in float64 (the ODE is linear in x).
    let scalar = 80;
    for (let i = 0; i < 32; i++) {
      const [tc, tn] = [schedule[i], schedule[i + 1]];
      const d = (scalar - (s * s / (s * s + tc * tc)) * scalar) / tc;
      const euler = scalar + (tn - tc) * d;
      if (i === 31) scalar = euler;
      else scalar += ((tn - tc) * (d + (euler - (s * s / (s * s + tn * tn)) * euler) / tn)) / 2;
    }
    const exact = 80 * (s / Math.sqrt(s * s + 80 * 80));
    [1, -0.5, 2, 0.25].forEach((e, i) => {
      assert.ok(Math.abs(got[i] - e * scalar) < 1e-5 * Math.abs(e * scalar), `${got[i]} vs ${e * scalar}`);
      // Heun's discretisation error with 32 steps is 1.6% here (measured in float64).
      assert.ok(Math.abs(got[i] - e * exact) < 0.02 * Math.abs(e * exact), `${got[i]} vs exact ${e * exact}`);
    });
    assert.equal(calls, 63); // 2N - 1 network evaluations
    tf.dispose([noise, result]);
  });

  test('a single-point data set is reached exactly (the ODE is linear in sigma)', () => {
    const schedule = noiseSchedule({ ...SAMPLER_DEFAULTS, steps: 4 });
    const target = tf.tensor4d([0.3, -0.7], [1, 1, 2, 1]);
    const noise = tf.tensor4d([1.5, -2], [1, 1, 2, 1]);
    const result = heunSample(() => target.clone(), noise, schedule);
    const got = result.dataSync();
    assert.ok(Math.abs(got[0] - 0.3) < 1e-5 && Math.abs(got[1] + 0.7) < 1e-5, `${got[0]}, ${got[1]}`);
    tf.dispose([target, noise, result]);
  });

  test('with the ideal denoiser of a finite data set, every sample lands on a data point', () => {
    // D(x; sigma) = posterior mean of the points under N(x; point, sigma^2 I): the exact denoiser of
    // an empirical distribution, so the probability-flow ODE ends on one of the points.
    const points = [[0.8, -0.6, 0.2, 0.5], [-0.7, 0.4, -0.9, 0.1], [0.1, 0.9, 0.6, -0.8]];
    const ideal = (x: tf.Tensor4D, sigma: number): tf.Tensor4D => tf.tidy(() => {
      const flat = x.reshape([x.shape[0], 4]);
      const data = tf.tensor2d(points);
      const distances = tf.sum(tf.square(tf.sub(flat.expandDims(1), data.expandDims(0))), 2); // [N, K]
      const weights = tf.softmax(tf.div(distances, -2 * sigma * sigma));
      return tf.matMul(weights, data).reshape(x.shape) as tf.Tensor4D;
    });
    const noise = tf.tensor4d(new CounterRng([5]).fillNormal(new Float32Array(6 * 4)), [6, 2, 2, 1]);
    const result = heunSample(ideal, noise, noiseSchedule());
    const samples = result.arraySync().map((image) => image.flat(2) as number[]);
    for (const sample of samples) {
      const nearest = Math.min(...points.map((p) => Math.hypot(...p.map((v, i) => v - sample[i]))));
      assert.ok(nearest < 1e-3, `sample ${sample.map((v) => v.toFixed(3)).join(',')} is ${nearest} from the nearest point`);
    }
    tf.dispose([noise, result]);
  });
});
