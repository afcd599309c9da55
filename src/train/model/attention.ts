/**
 * Cosine self-attention of an MP block (MPUNET.md section 2, step 10), NHWC.
 * Our attn_qkv weight keeps q, k and v output channels in three contiguous groups (the official
 * interleaved order is restored only on export), so q, k and v come from three matrix products
 * with slices of the small weight instead of a costly unstack of the large activation.
 */
import * as tf from '@tensorflow/tfjs';
import { effectiveWeight } from './mp-conv.js';
import { normalize } from './mp-ops.js';

export function cosineAttention(x: tf.Tensor4D, qkvWeight: tf.Tensor4D, heads: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const ch = c / heads;
  const pixels = h * w;
  const weight = tf.reshape(effectiveWeight(qkvWeight), [c, 3 * c]) as tf.Tensor2D;
  const x2 = tf.reshape(x, [n * pixels, c]) as tf.Tensor2D;
  const project = (s: number): tf.Tensor3D => {
    const part = tf.matMul(x2, tf.slice(weight, [0, s * c], [c, c]));
    // Channel j = head*ch + c': per-head unit RMS, then heads folded into the batch axis.
    const normed = normalize(tf.reshape(part, [n, pixels, heads, ch]), [3]);
    const headsFirst = heads === 1 ? normed : tf.transpose(normed, [0, 2, 1, 3]);
    return tf.reshape(headsFirst, [n * heads, pixels, ch]) as tf.Tensor3D;
  };
  const q = project(0);
  const k = project(1);
  const v = project(2);
  const logits = tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(ch));
  const out = tf.matMul(tf.softmax(logits), v); // [n*heads, pixels, ch]
  const back = heads === 1 ? out : tf.transpose(tf.reshape(out, [n, heads, pixels, ch]), [0, 2, 1, 3]);
  return tf.reshape(back, [n, h, w, c]);
}
