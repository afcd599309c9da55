/**
 * MPConv (MPUNET.md section 1.6): conv or linear layer whose effective weight is the stored weight
 * normalised to unit RMS per output channel, times gain/sqrt(fan_in), i.e. unit L2 norm x gain.
 * Our layouts: conv HWIO [k,k,in,out], linear [in,out]; the output channel is always the last axis.
 */
import * as tf from '@tensorflow/tfjs';
import { convSame } from './fast-conv.js';
import { normalize } from './mp-ops.js';

/** Axes reduced when normalising a weight of this rank: everything but the last (output) axis. */
export function fanInAxes(rank: number): number[] {
  return Array.from({ length: rank - 1 }, (_, i) => i);
}

/**
 * The effective weight normalize(W) * gain / sqrt(fan_in) as differentiable tfjs ops: the
 * straightforward formulation, kept as the independent second method for tests of
 * effective-weights.ts.
 */
export function effectiveWeight<T extends tf.Tensor>(w: T, gain: number | tf.Scalar = 1): T {
  const axes = fanInAxes(w.rank);
  let fanIn = 1;
  for (const a of axes) fanIn *= w.shape[a];
  const normed = normalize(w, axes);
  if (typeof gain === 'number') return tf.mul(normed, gain / Math.sqrt(fanIn)) as T;
  return tf.mul(normed, tf.mul(gain, 1 / Math.sqrt(fanIn))) as T;
}

/**
 * The layers themselves take the *effective* weight (computed per step by effective-weights.ts,
 * gain included), so the forward pass holds no weight arithmetic.
 */
export function mpConv(x: tf.Tensor4D, wEffective: tf.Tensor4D): tf.Tensor4D {
  return convSame(x, wEffective);
}

export function mpLinear(x: tf.Tensor2D, wEffective: tf.Tensor2D): tf.Tensor2D {
  return tf.matMul(x, wEffective);
}
