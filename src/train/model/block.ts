/** The UNet block (MPUNET.md section 2), NHWC. */
import * as tf from '@tensorflow/tfjs';
import { BlockSpec } from './architecture.js';
import { cosineAttention } from './attention.js';
import { mpConv, mpLinear } from './mp-conv.js';
import { clipActivations, constant, mpSilu, mpSum, normalize, resample } from './mp-ops.js';

export const RES_BALANCE = 0.3;
export const ATTN_BALANCE = 0.3;

export type ParamLookup = (name: string) => tf.Tensor;

export interface BlockContext {
  /** Inverted dropout with this keep-mask generator when training with dropout > 0. */
  dropout?: { rate: number; seed: number };
}

export function runBlock(
  spec: BlockSpec, p: ParamLookup, input: tf.Tensor4D, emb: tf.Tensor2D, ctx: BlockContext = {},
): tf.Tensor4D {
  const name = (suffix: string): string => `${spec.prefix}.${suffix}`;
  const hasSkip = spec.inChannels !== spec.outChannels;
  let x = resample(input, spec.resample);
  if (spec.flavor === 'enc') {
    if (hasSkip) x = mpConv(x, p(name('conv_skip.weight')) as tf.Tensor4D);
    x = normalize(x, [3]);
  }
  let y = mpConv(mpSilu(x), p(name('conv_res0.weight')) as tf.Tensor4D);
  // p() gives effective weights: emb_linear's already carries emb_gain.
  const c = tf.add(mpLinear(emb, p(name('emb_linear.weight')) as tf.Tensor2D), constant(1)) as tf.Tensor2D;
  y = mpSilu(tf.mul(y, tf.reshape(c, [c.shape[0], 1, 1, c.shape[1]])) as tf.Tensor4D);
  if (ctx.dropout && ctx.dropout.rate > 0) {
    y = tf.dropout(y, ctx.dropout.rate, undefined, ctx.dropout.seed) as tf.Tensor4D;
  }
  y = mpConv(y, p(name('conv_res1.weight')) as tf.Tensor4D);
  if (spec.flavor === 'dec' && hasSkip) x = mpConv(x, p(name('conv_skip.weight')) as tf.Tensor4D);
  x = mpSum(x, y, RES_BALANCE);
  if (spec.heads > 0) {
    const a = cosineAttention(x, p(name('attn_qkv.weight')) as tf.Tensor4D, spec.heads, p(name('attn_proj.weight')) as tf.Tensor4D);
    x = mpSum(x, a, ATTN_BALANCE);
  }
  return clipActivations(x);
}
