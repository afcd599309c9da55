/**
 * softmax(q k^T / sqrt(D)) v for many small independent problems, with a hand-written gradient.
 * Layout "pixel-major": q, k, v and the output are [P, B, D] (pixel, problem, channel), which is
 * what a 1x1 projection of pixel-major activations yields directly.
 *
 * Three implementations of the six products (two forward, four backward):
 *  - on the wasm and cpu backends, WebAssembly SIMD kernels (attention-kernels.ts) that read the
 *    pixel-major operands in place, about 7 GFLOP/s against 2-3 for the depthwise formulation,
 *    with no transposes;
 *  - on native TensorFlow, batched matrix products with tfjs's autodiff (measured for small16's
 *    8x8 attention at batch 32, one thread: 10-14 ms CPU per forward + backward, against 26-33 ms
 *    for the depthwise formulation);
 *  - elsewhere, and when the shapes do not fit the kernels' blocking, depthwise convolutions with a
 *    channel multiplier (problems as channels):
 *    product(a [M, K, B], b [K, B, N]) -> [M, B, N], out[m, j, n] = sum_k a[m, k, j] b[k, j, n].
 *    On wasm BatchMatMul with a batch > 1 leaves XNNPACK's fast path (0.6 GFLOP/s measured), and
 *    tfjs has no depthwise backprop kernels we would otherwise need.
 */
import * as tf from '@tensorflow/tfjs';
import { batchedProduct, fits } from './attention-kernels.js';
import { constant } from './mp-ops.js';

function product(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [m, k, batch] = a.shape;
  const n = b.shape[2];
  const out = tf.depthwiseConv2d(
    tf.reshape(a, [m, 1, k, batch]) as tf.Tensor4D, tf.reshape(b, [1, k, batch, n]) as tf.Tensor4D, 1, 'valid',
  );
  return tf.reshape(out, [m, batch, n]);
}

const t3 = (x: tf.Tensor, perm: number[]): tf.Tensor3D => tf.transpose(x, perm) as tf.Tensor3D;

/** The depthwise-convolution formulation (any backend, any shape); the second method in tests. */
export const attentionCoreDepthwise = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [q, k, v] = args as tf.Tensor3D[]; // [P, B, D] each
  const save = args[3] as tf.GradSaveFunc;
  const scale = constant(1 / Math.sqrt(q.shape[2]));
  // logits[p, j, p'] = sum_d q[p, j, d] k[p', j, d]
  const logits = product(t3(q, [0, 2, 1]), t3(k, [2, 1, 0]));
  const a = tf.softmax(tf.mul(logits, scale)) as tf.Tensor3D; // over p'
  // out[p, j, d] = sum_p' a[p, j, p'] v[p', j, d]
  const out = product(t3(a, [0, 2, 1]), v);
  save([q, k, v, a]);
  return {
    value: out,
    gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
      const [qs, ks, vs, as] = saved as tf.Tensor3D[];
      const dA = product(t3(dy, [0, 2, 1]), t3(vs, [2, 1, 0])); // [P, B, P']
      const dv = product(t3(as, [2, 0, 1]), dy); // [P', B, D]
      const dLogits = tf.mul(tf.mul(as, tf.sub(dA, tf.sum(tf.mul(dA, as), 2, true))), scale) as tf.Tensor3D;
      const dq = product(t3(dLogits, [0, 2, 1]), ks);
      const dk = product(t3(dLogits, [2, 0, 1]), qs);
      return [dq, dk, dv];
    },
  };
}) as (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;

/** Problem-major strides of pixel-major [P, B, X] arrays: per problem X, per pixel B X. */
const byPixel = (b: number, x: number) => ({ j: x, outer: b * x, inner: 1 });
/** The same array read with pixels as the contracted (inner) axis and X as the row axis. */
const pixelsInner = (b: number, x: number) => ({ j: x, outer: 1, inner: b * x });

/** dLogits = a (dA - sum_p' dA a) scale, per row of P' values. */
function softmaxBackward(a: Float32Array, dA: Float32Array, width: number, scale: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let base = 0; base < a.length; base += width) {
    let dot = 0;
    for (let i = base; i < base + width; i++) dot += dA[i] * a[i];
    for (let i = base; i < base + width; i++) out[i] = a[i] * (dA[i] - dot) * scale;
  }
  return out;
}

/** The SIMD-kernel implementation; the arrays of the forward pass are kept for the backward. */
const attentionCoreKernels = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [q, k, v] = args as tf.Tensor3D[];
  const [P, B, D] = q.shape;
  const scale = 1 / Math.sqrt(D);
  const [qd, kd, vd] = [q, k, v].map((t) => t.dataSync() as Float32Array);
  const logits = batchedProduct({
    form: 'dots', J: B, M: P, N: P, K: D, a: qd, aStrides: byPixel(B, D), b: kd, bStrides: byPixel(B, D),
    cStrides: byPixel(B, P), cSize: P * B * P, scale,
  });
  // Read outside tidy: tidy walks its result, and a typed array result is walked element by element.
  const a = tf.tidy(() => tf.softmax(tf.tensor3d(logits, [P, B, P])));
  const ad = a.dataSync() as Float32Array;
  a.dispose();
  const out = batchedProduct({
    form: 'rows', J: B, M: P, N: D, K: P, a: ad, aStrides: byPixel(B, P), b: vd, bStrides: byPixel(B, D),
    cStrides: byPixel(B, D), cSize: P * B * D,
  });
  return {
    value: tf.tensor3d(out, [P, B, D]),
    gradFunc: (dy: tf.Tensor3D) => {
      const dyd = dy.dataSync() as Float32Array;
      const dA = batchedProduct({
        form: 'dots', J: B, M: P, N: P, K: D, a: dyd, aStrides: byPixel(B, D), b: vd, bStrides: byPixel(B, D),
        cStrides: byPixel(B, P), cSize: P * B * P,
      });
      const rows = (a: Float32Array, aPixelsInner: boolean, b: Float32Array): tf.Tensor3D => tf.tensor3d(batchedProduct({
        form: 'rows', J: B, M: P, N: D, K: P, a, aStrides: aPixelsInner ? pixelsInner(B, P) : byPixel(B, P),
        b, bStrides: byPixel(B, D), cStrides: byPixel(B, D), cSize: P * B * D,
      }), [P, B, D]);
      const dL = softmaxBackward(ad, dA, P, scale);
      // dv[p'] = sum_p a[p, p'] dy[p];  dq[p] = sum_p' dL[p, p'] k[p'];  dk[p'] = sum_p dL[p, p'] q[p]
      return [rows(dL, false, kd), rows(dL, true, qd), rows(ad, true, dyd)];
    },
  };
}) as (q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D) => tf.Tensor3D;

/** True when attentionCore uses the SIMD kernels for these shapes on the active backend. */
export function usesKernels(pixels: number, channels: number): boolean {
  const backend = tf.getBackend();
  return (backend === 'wasm' || backend === 'cpu')
    && fits('dots', pixels, pixels, channels) && fits('rows', pixels, channels, pixels);
}

/**
 * Native TensorFlow: batched matrix products over the problems, differentiated by tfjs (its
 * BatchMatMul gradients are again BatchMatMuls, fast there), in place of the depthwise formulation.
 */
function attentionCoreBatched(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor3D {
  const scale = constant(1 / Math.sqrt(q.shape[2]));
  const [qb, kb, vb] = [q, k, v].map((x) => t3(x, [1, 0, 2])); // [B, P, D]
  const a = tf.softmax(tf.mul(tf.matMul(qb, kb, false, true), scale)) as tf.Tensor3D; // [B, P, P']
  return t3(tf.matMul(a, vb), [1, 0, 2]);
}

export function attentionCore(q: tf.Tensor3D, k: tf.Tensor3D, v: tf.Tensor3D): tf.Tensor3D {
  if (tf.getBackend() === 'tensorflow') return attentionCoreBatched(q, k, v);
  return usesKernels(q.shape[0], q.shape[2]) ? attentionCoreKernels(q, k, v) : attentionCoreDepthwise(q, k, v);
}
