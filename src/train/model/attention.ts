/**
 * Cosine self-attention of an MP block (MPUNET.md section 2, step 10), NHWC.
 * Our attn_qkv weight keeps q, k and v output channels in three contiguous groups (the official
 * interleaved order is restored only on export), so q, k and v come from three matrix products
 * with slices of the small weight instead of a costly unstack of the large activation.
 */
import * as tf from '@tensorflow/tfjs';
import { batchedMatMul } from './batched-matmul.js';
import { convSame } from './fast-conv.js';
import { normalize } from './mp-ops.js';

/** x NHWC; qkvWeight: the effective attn_qkv weight [1, 1, C, 3C] in our grouped q|k|v order. */
export function cosineAttention(x: tf.Tensor4D, qkvWeight: tf.Tensor4D, heads: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const ch = c / heads;
  const pixels = h * w;
  const project = (s: number): tf.Tensor3D => {
    const part = convSame(x, tf.slice(qkvWeight, [0, 0, 0, s * c], [1, 1, c, c]));
    // Channel j = head*ch + c': per-head unit RMS, then heads folded into the batch axis.
    const normed = normalize(tf.reshape(part, [n, pixels, heads, ch]), [3]);
    const headsFirst = heads === 1 ? normed : tf.transpose(normed, [0, 2, 1, 3]);
    return tf.reshape(headsFirst, [n * heads, pixels, ch]) as tf.Tensor3D;
  };
  const q = project(0);
  const k = project(1);
  const v = project(2);
  const kT = tf.transpose(k, [0, 2, 1]) as tf.Tensor3D;
  const logits = tf.mul(batchedMatMul(q, kT), 1 / Math.sqrt(ch)) as tf.Tensor3D;
  const out = batchedMatMul(tf.softmax(logits), v); // [n*heads, pixels, ch]
  const back = heads === 1 ? out : tf.transpose(tf.reshape(out, [n, heads, pixels, ch]), [0, 2, 1, 3]);
  return tf.reshape(back, [n, h, w, c]);
}
