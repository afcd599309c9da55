/**
 * Cosine self-attention of an MP block (MPUNET.md section 2, step 10), NHWC in and out.
 * Our attn_qkv weight keeps q, k and v output channels in three contiguous groups (the official
 * interleaved order is restored only on export), so q, k and v come from three 1x1 products with
 * slices of the small weight instead of an unstack of the large activation (MPUNET.md section 9).
 * Inside, activations are pixel-major [P, N, C] so that heads fold into the problem axis by a
 * reshape and attention-core.ts needs few transposes.
 */
import * as tf from '@tensorflow/tfjs';
import { attentionCore } from './attention-core.js';
import { convSame } from './fast-conv.js';
import { normalize } from './mp-ops.js';

/**
 * x NHWC; qkvWeight: the effective attn_qkv weight [1, 1, C, 3C] (grouped q|k|v);
 * projWeight: the effective attn_proj weight [1, 1, C, C]. Returns attn_proj(attention(x)).
 */
export function cosineAttention(x: tf.Tensor4D, qkvWeight: tf.Tensor4D, heads: number, projWeight?: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const ch = c / heads;
  const pixels = h * w;
  // [P, 1, N, C] viewed as an NHWC image so the 1x1 products below run as convolutions.
  const xp = tf.reshape(tf.transpose(tf.reshape(x, [n, pixels, c]), [1, 0, 2]), [pixels, 1, n, c]) as tf.Tensor4D;
  const project = (s: number): tf.Tensor3D => {
    const part = convSame(xp, tf.slice(qkvWeight, [0, 0, 0, s * c], [1, 1, c, c]));
    // Channel j = head*ch + c': per-head unit RMS; heads join the problem axis.
    return normalize(tf.reshape(part, [pixels, n * heads, ch]) as tf.Tensor3D, [2]);
  };
  const out = tf.reshape(attentionCore(project(0), project(1), project(2)), [pixels, 1, n, c]) as tf.Tensor4D;
  const y = projWeight === undefined ? out : convSame(out, projWeight);
  return tf.reshape(tf.transpose(tf.reshape(y, [pixels, n, c]), [1, 0, 2]), [n, h, w, c]);
}
