/** The UNet forward pass (MPUNET.md section 3), NHWC. */
import * as tf from '@tensorflow/tfjs';
import { Architecture } from './architecture.js';
import { BlockContext, ParamLookup, runBlock } from './block.js';
import { mpConv, mpLinear } from './mp-conv.js';
import { mpCat, mpFourier, mpSilu, mpSum } from './mp-ops.js';

export const LABEL_BALANCE = 0.5;
export const CONCAT_BALANCE = 0.5;

export interface UnetInputs {
  x: tf.Tensor4D;
  cNoise: tf.Tensor1D;
  /** One-hot [N, labelDim] for conditional models. */
  labels?: tf.Tensor2D;
  /** Training-mode dropout (rate from the config, seed per step). */
  dropout?: { rate: number; seed: number };
}

/** p: effective weights by official name (see effective-weights.ts). */
export function runUnet(arch: Architecture, p: ParamLookup, buffer: ParamLookup, inputs: UnetInputs): tf.Tensor4D {
  const { x: input, cNoise, labels } = inputs;
  const fourier = mpFourier(
    cNoise, buffer('unet.emb_fourier.freqs') as tf.Tensor1D, buffer('unet.emb_fourier.phases') as tf.Tensor1D,
  );
  let emb = mpLinear(fourier, p('unet.emb_noise.weight') as tf.Tensor2D);
  if (labels !== undefined) {
    const labelDim = labels.shape[1];
    const embLabel = mpLinear(tf.mul(labels, Math.sqrt(labelDim)), p('unet.emb_label.weight') as tf.Tensor2D);
    emb = mpSum(emb, embLabel, LABEL_BALANCE);
  }
  emb = mpSilu(emb);

  const [n, h, w] = input.shape;
  let x = tf.concat([input, tf.ones([n, h, w, 1])], 3) as tf.Tensor4D;
  const skips: tf.Tensor4D[] = [];
  let index = 0;
  const ctx = (): BlockContext =>
    inputs.dropout ? { dropout: { rate: inputs.dropout.rate, seed: inputs.dropout.seed + 7919 * index++ } } : {};
  for (const m of arch.encoder) {
    x = m.kind === 'conv' ? mpConv(x, p(`${m.prefix}.weight`) as tf.Tensor4D) : runBlock(m, p, x, emb, ctx());
    skips.push(x);
  }
  for (const m of arch.decoder) {
    if (m.takesSkip) x = mpCat(x, skips.pop() as tf.Tensor4D, CONCAT_BALANCE);
    x = runBlock(m, p, x, emb, ctx());
  }
  return mpConv(x, p('unet.out_conv.weight') as tf.Tensor4D); // effective weight carries out_gain
}
