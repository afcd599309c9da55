/**
 * Batched matrix product [B,M,K] x [B,K,N] -> [B,M,N] for attention.
 * On wasm, BatchMatMul with a batch > 1 (or any transpose flag) falls off XNNPACK's fast path
 * (measured 0.6 GFLOP/s); the same product written as a depthwise convolution with a channel
 * multiplier runs about 2.5x faster including the layout transposes:
 *   in[m, 0, k, b] = a[b, m, k], filter[0, k, b, n] = bm[b, k, n]  ->  out[m, 0, 0, b*N + n].
 * The gradient is again two batched products, so tfjs never needs a backprop kernel.
 */
import * as tf from '@tensorflow/tfjs';

function productDepthwise(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [batch, m, k] = a.shape;
  const n = b.shape[2];
  const input = tf.reshape(tf.transpose(a, [1, 2, 0]), [m, 1, k, batch]) as tf.Tensor4D;
  const filter = tf.reshape(tf.transpose(b, [1, 0, 2]), [1, k, batch, n]) as tf.Tensor4D;
  const out = tf.depthwiseConv2d(input, filter, 1, 'valid');
  return tf.transpose(tf.reshape(out, [m, batch, n]), [1, 0, 2]);
}

function product(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  return tf.getBackend() === 'wasm' ? productDepthwise(a, b) : tf.matMul(a, b);
}

const swap = (t: tf.Tensor3D): tf.Tensor3D => tf.transpose(t, [0, 2, 1]);

export const batchedMatMul = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b] = args as tf.Tensor3D[];
  const save = args[2] as tf.GradSaveFunc;
  save([a, b]);
  return {
    value: product(a, b),
    gradFunc: (dy: tf.Tensor3D, saved: tf.Tensor[]) => {
      const [as, bs] = saved as tf.Tensor3D[];
      return [product(dy, swap(bs)), product(swap(as), dy)];
    },
  };
}) as (a: tf.Tensor3D, b: tf.Tensor3D) => tf.Tensor3D;
