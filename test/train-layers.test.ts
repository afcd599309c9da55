/**
 * Properties of the magnitude-preserving layers (MPUNET.md section 1) and agreement of every
 * hand-written gradient with a second method, on the cpu backend.
 * Sampling tolerances: with M samples the RMS of unit-variance data has relative standard error
 * about 1/sqrt(2M); we allow about 5 standard errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/train/backend.js';
import { attentionCore, usesKernels } from '../src/train/model/attention-core.js';
import { effectiveRows, effectiveRowsBackward, normalizedRows, rowStats } from '../src/train/model/effective-weights.js';
import { convSame } from '../src/train/model/fast-conv.js';
import { effectiveWeight } from '../src/train/model/mp-conv.js';
import { mpCat, mpFourier, mpSilu, mpSum, normalize, resample } from '../src/train/model/mp-ops.js';

await selectBackend('cpu');

function rms(t: tf.Tensor): number {
  return tf.tidy(() => Math.sqrt(tf.mean(tf.square(t)).dataSync()[0]));
}

function maxRelDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / Math.max(tf.max(tf.abs(b)).dataSync()[0], 1e-30));
}

const unit = (shape: number[], seed: number): tf.Tensor => tf.randomNormal(shape, 0, 1, 'float32', seed);

test('mp_silu, mp_sum, mp_cat and MPFourier keep unit-variance inputs at unit RMS', () => {
  tf.tidy(() => {
    const m = 200_000; // standard error of the RMS about 0.0016
    const a = unit([m], 1);
    const b = unit([m], 2);
    // silu(z)/0.596 for z ~ N(0,1): RMS 0.5970/0.596 = 1.0017.
    assert.ok(Math.abs(rms(mpSilu(a)) - 1) < 0.01, `mp_silu RMS ${rms(mpSilu(a))}`);
    for (const t of [0.3, 0.5, 0.9]) assert.ok(Math.abs(rms(mpSum(a, b, t)) - 1) < 0.01, `mp_sum t=${t}`);
    const a4 = unit([50, 8, 8, 24], 3) as tf.Tensor4D;
    const b4 = unit([50, 8, 8, 72], 4) as tf.Tensor4D;
    assert.ok(Math.abs(rms(mpCat(a4, b4, 0.5)) - 1) < 0.01, `mp_cat RMS ${rms(mpCat(a4, b4, 0.5))}`);
    const s = tf.mul(unit([4000], 5), 2) as tf.Tensor1D;
    const freqs = tf.mul(unit([64], 6), 2 * Math.PI) as tf.Tensor1D;
    const phases = tf.mul(tf.randomUniform([64], 0, 1, 'float32', 7), 2 * Math.PI) as tf.Tensor1D;
    assert.ok(Math.abs(rms(mpFourier(s, freqs, phases)) - 1) < 0.02, 'MPFourier RMS');
  });
});

test('normalize gives RMS 1 (minus eps) over the reduced axes; nearest upsampling keeps RMS', () => {
  tf.tidy(() => {
    const x = tf.mul(unit([16, 4, 4, 32], 8), 3) as tf.Tensor4D;
    const pixelRms = tf.sqrt(tf.mean(tf.square(normalize(x, [3])), 3));
    const values = pixelRms.dataSync();
    // x / (eps + rms): RMS = rms/(eps + rms), within 1e-4/rms of 1.
    for (const v of values) assert.ok(Math.abs(v - 1) < 1e-4, `pixel RMS ${v}`);
    assert.ok(Math.abs(rms(resample(x, 'up')) - rms(x)) < 1e-5);
  });
});

test('an MPConv with normalised weights keeps unit-variance inputs at unit RMS', () => {
  tf.tidy(() => {
    const x = unit([64, 16, 16, 32], 9) as tf.Tensor4D;
    const w = tf.mul(unit([3, 3, 32, 48], 10), 7) as tf.Tensor4D;
    // Interior pixels only: 'same' zero padding shrinks the border's variance.
    const y = tf.slice(convSame(x, effectiveWeight(w)), [0, 1, 1, 0], [-1, 14, 14, -1]);
    assert.ok(Math.abs(rms(y) - 1) < 0.02, `conv RMS ${rms(y)}`);
  });
});

test('forced weight normalisation leaves every output channel at unit RMS', () => {
  const out = 6;
  let w: Float32Array = Float32Array.from({ length: 5 * out * 9 }, (_, i) => Math.sin(i * 1.7) * 4 + 0.3);
  for (let step = 0; step < 3; step++) {
    w = normalizedRows(w, out);
    const { norms, fanIn } = rowStats(w, out);
    for (const n of norms) {
      const channelRms = n / Math.sqrt(fanIn);
      assert.ok(Math.abs(channelRms - 1) < 2e-4, `channel RMS ${channelRms} after step ${step}`);
    }
    // An optimizer step moves the weights off the sphere again.
    w = w.map((v, i) => v * 1.3 + 0.05 * Math.cos(i));
  }
});

test('the JS effective weight and its chain rule equal tfjs autodiff of normalize * gain / sqrt(fan_in)', () => {
  const shape = [3, 3, 5, 7];
  const w = tf.mul(unit(shape, 11), 1.7);
  const dHat = unit(shape, 12);
  const gain = 0.37;
  const wData = w.dataSync() as Float32Array;
  const rows = rowStats(wData, 7);
  const ours = effectiveRows(wData, rows, gain);
  const { dW, dGain } = effectiveRowsBackward(wData, rows, gain, dHat.dataSync() as Float32Array);
  const g = tf.scalar(gain);
  const f = (wt: tf.Tensor, gt: tf.Tensor): tf.Scalar => tf.sum(tf.mul(effectiveWeight(wt, gt as tf.Scalar), dHat));
  const [autoW, autoG] = tf.grads(f)([w, g]);
  const ref = effectiveWeight(w, gain);
  assert.ok(maxRelDiff(tf.tensor(ours, shape), ref) < 1e-6, 'forward');
  assert.ok(maxRelDiff(tf.tensor(dW, shape), autoW) < 1e-5, `dW ${maxRelDiff(tf.tensor(dW, shape), autoW)}`);
  assert.ok(Math.abs(dGain - autoG.dataSync()[0]) < 1e-5 * Math.abs(dGain), 'dGain');
});

for (const k of [3, 1]) {
  test(`the ${k}x${k} convolution's custom gradient equals tfjs's own conv2d gradient`, () => {
    tf.tidy(() => {
      const x = unit([3, 6, 6, 5], 13) as tf.Tensor4D;
      const w = unit([k, k, 5, 4], 14) as tf.Tensor4D;
      const dy = unit([3, 6, 6, 4], 15);
      const [ox, ow] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(convSame(a as tf.Tensor4D, b as tf.Tensor4D), dy)))([x, w]);
      const [rx, rw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'), dy)))([x, w]);
      assert.ok(maxRelDiff(convSame(x, w), tf.conv2d(x, w, 1, 'same')) < 1e-6, 'forward');
      assert.ok(maxRelDiff(ox, rx) < 1e-5, `dx ${maxRelDiff(ox, rx)}`);
      assert.ok(maxRelDiff(ow, rw) < 1e-5, `dW ${maxRelDiff(ow, rw)}`);
    });
  });
}

test('normalize, mp_sum and mp_cat gradients equal autodiff of their plain formulas', () => {
  tf.tidy(() => {
    const x = tf.mul(unit([3, 4, 4, 6], 26), 2);
    const b = unit([3, 4, 4, 6], 27);
    const dy = unit([3, 4, 4, 6], 28);
    for (const axes of [[3], [0, 1, 2]]) {
      const count = axes.reduce((acc, a) => acc * x.shape[a], 1);
      const plain = (a: tf.Tensor): tf.Tensor =>
        tf.div(a, tf.add(tf.div(tf.sqrt(tf.sum(tf.square(a), axes, true)), Math.sqrt(count)), 1e-4));
      assert.ok(maxRelDiff(normalize(x, axes), plain(x)) < 1e-6, `normalize forward over [${axes}]`);
      const [ours] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(normalize(a, axes), dy)))([x]);
      const [ref] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(plain(a), dy)))([x]);
      assert.ok(maxRelDiff(ours, ref) < 1e-5, `normalize gradient over [${axes}]: ${maxRelDiff(ours, ref)}`);
    }
    const [da, db] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(mpSum(p, q, 0.3), dy)))([x, b]);
    const scale = 1 / Math.sqrt(0.58);
    assert.ok(maxRelDiff(da, tf.mul(dy, 0.7 * scale)) < 1e-6 && maxRelDiff(db, tf.mul(dy, 0.3 * scale)) < 1e-6, 'mp_sum');
    // mp_cat against autodiff of concat of scaled inputs (weights of section 1.4 for 6 + 2 channels).
    const c = unit([3, 4, 4, 2], 29) as tf.Tensor4D;
    const dyCat = unit([3, 4, 4, 8], 30);
    const [wa, wb] = [Math.sqrt(8 / 12), Math.sqrt(8 / 4)];
    const [ca, cb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(mpCat(p as tf.Tensor4D, q as tf.Tensor4D, 0.5), dyCat)))([x, c]);
    const [ra, rb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.concat([tf.mul(p, wa), tf.mul(q, wb)], 3), dyCat)))([x, c]);
    assert.ok(maxRelDiff(mpCat(x as tf.Tensor4D, c, 0.5), tf.concat([tf.mul(x, wa), tf.mul(c, wb)], 3)) < 1e-6, 'mp_cat forward');
    assert.ok(maxRelDiff(ca, ra) < 1e-6 && maxRelDiff(cb, rb) < 1e-6, 'mp_cat gradient');
  });
});

test('mp_silu and nearest upsampling gradients equal autodiff of a second formulation', () => {
  tf.tidy(() => {
    const x = tf.mul(unit([2, 4, 4, 3], 16), 2) as tf.Tensor4D;
    const dy = unit([2, 4, 4, 3], 17);
    const [ours] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(mpSilu(a), dy)))([x]);
    const [ref] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tf.div(tf.mul(a, tf.sigmoid(a)), 0.596), dy)))([x]);
    assert.ok(maxRelDiff(ours, ref) < 1e-5, 'mp_silu');
    // Upsampling as copies concatenated (whose gradient is slicing and summing), independent of
    // ResizeNearestNeighborGrad.
    const dyUp = unit([2, 8, 8, 3], 18);
    const tileUp = (a: tf.Tensor): tf.Tensor => {
      const cols = tf.reshape(tf.concat([tf.expandDims(a, 3), tf.expandDims(a, 3)], 3), [2, 4, 8, 3]);
      return tf.reshape(tf.concat([tf.expandDims(cols, 2), tf.expandDims(cols, 2)], 2), [2, 8, 8, 3]);
    };
    assert.ok(maxRelDiff(resample(x, 'up'), tileUp(x)) === 0, 'upsampling forward');
    const [up] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(resample(a as tf.Tensor4D, 'up'), dyUp)))([x]);
    const [upRef] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(tileUp(a), dyUp)))([x]);
    assert.ok(maxRelDiff(up, upRef) < 1e-6, 'upsampling gradient');
  });
});

// [5, 3, 4] does not fit the SIMD kernels' blocking (depthwise formulation); [16, 3, 8] uses them.
for (const [backend, [p, b, d]] of [['cpu', [5, 3, 4]], ['wasm', [5, 3, 4]], ['cpu', [16, 3, 8]], ['wasm', [16, 3, 8]]] as const) {
  test(`the attention core and its gradient equal autodiff of softmax(q k^T/sqrt(D)) v on ${backend}, [P, B, D] = [${p}, ${b}, ${d}]`, async () => {
    // Reference: tfjs's own batched matMul, softmax and their gradients on cpu, in [B, P, D] layout.
    await selectBackend(backend);
    assert.equal(usesKernels(p, d), p === 16, 'which implementation runs');
    await selectBackend('cpu');
    const data = [22, 23, 24, 25].map((seed) => unit([p, b, d], seed).dataSync());
    const run = (ours: boolean): Float32Array[] => tf.tidy(() => {
      const [q, k, v, dy] = data.map((x) => tf.tensor3d(x, [p, b, d]));
      const straightforward = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor): tf.Tensor => {
        const [qb, kb, vb] = [qq, kk, vv].map((t) => tf.transpose(t, [1, 0, 2]) as tf.Tensor3D);
        const a = tf.softmax(tf.div(tf.matMul(qb, kb, false, true), Math.sqrt(d)));
        return tf.transpose(tf.matMul(a, vb), [1, 0, 2]);
      };
      const f = (qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor): tf.Tensor => ours
        ? attentionCore(qq as tf.Tensor3D, kk as tf.Tensor3D, vv as tf.Tensor3D) : straightforward(qq, kk, vv);
      const grads = tf.grads((qq: tf.Tensor, kk: tf.Tensor, vv: tf.Tensor) => tf.sum(tf.mul(f(qq, kk, vv), dy)))([q, k, v]);
      return [f(q, k, v), ...grads].map((t) => Float32Array.from(t.dataSync()));
    });
    const want = run(false);
    await selectBackend(backend);
    const got = run(true);
    await selectBackend('cpu');
    got.forEach((g, i) => {
      const scale = Math.max(...want[i].map(Math.abs));
      const err = Math.max(...g.map((v, j) => Math.abs(v - want[i][j])));
      assert.ok(err < 1e-5 * scale, `output ${i}: error ${err} of ${scale}`);
    });
  });
}
