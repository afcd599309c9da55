/**
 * softmax(q k^T / sqrt(D)) v for many small independent problems, with a hand-written gradient.
 * Layout "pixel-major": q, k, v and the output are [P, B, D] (pixel, problem, channel), which is
 * what a 1x1 projection of pixel-major activations yields directly.
 *
 * Every product is a depthwise convolution with a channel multiplier (problems as channels),
 *   product(a [M, K, B], b [K, B, N]) -> [M, B, N],  out[m, j, n] = sum_k a[m, k, j] b[k, j, n],
 * because on wasm BatchMatMul with a batch > 1 leaves XNNPACK's fast path (0.6 GFLOP/s measured,
 * about 2.5x slower), and tfjs has no depthwise backprop kernels we would otherwise need.
 */
import * as tf from '@tensorflow/tfjs';
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

export const attentionCore = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
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
