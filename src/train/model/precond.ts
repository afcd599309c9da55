/** EDM preconditioning and the EDM2 loss with learned uncertainty (MPUNET.md section 4), NHWC. */
import * as tf from '@tensorflow/tfjs';
import { Architecture } from './architecture.js';
import { ParamLookup } from './block.js';
import { mpLinear } from './mp-conv.js';
import { mpFourier } from './mp-ops.js';
import { runUnet } from './unet.js';

export const SIGMA_DATA = 0.5;

export interface PrecondOptions {
  labels?: tf.Tensor2D;
  dropout?: { rate: number; seed: number };
}

/** D(x; sigma) = c_skip x + c_out F(c_in x, ln(sigma)/4). */
export function preconditionedDenoiser(
  arch: Architecture, p: ParamLookup, buffer: ParamLookup, x: tf.Tensor4D, sigma: tf.Tensor1D, options: PrecondOptions = {},
): tf.Tensor4D {
  const s = tf.reshape(sigma, [-1, 1, 1, 1]);
  const s2 = tf.square(s);
  const d2 = SIGMA_DATA * SIGMA_DATA;
  const cSkip = tf.div(d2, tf.add(s2, d2));
  const cOut = tf.div(tf.mul(s, SIGMA_DATA), tf.sqrt(tf.add(s2, d2)));
  const cIn = tf.rsqrt(tf.add(s2, d2));
  const cNoise = tf.div(tf.log(sigma), 4) as tf.Tensor1D;
  const f = runUnet(arch, p, buffer, { x: tf.mul(x, cIn) as tf.Tensor4D, cNoise, labels: options.labels, dropout: options.dropout });
  return tf.add(tf.mul(cSkip, x), tf.mul(cOut, f)) as tf.Tensor4D;
}

/** u(sigma) = logvar_linear(logvar_fourier(ln(sigma)/4)) -> [N]. */
export function logVariance(p: ParamLookup, buffer: ParamLookup, sigma: tf.Tensor1D): tf.Tensor1D {
  const cNoise = tf.div(tf.log(sigma), 4) as tf.Tensor1D;
  const features = mpFourier(
    cNoise, buffer('logvar_fourier.freqs') as tf.Tensor1D, buffer('logvar_fourier.phases') as tf.Tensor1D,
  );
  return tf.reshape(mpLinear(features, p('logvar_linear.weight') as tf.Tensor2D), [-1]);
}

/**
 * sum over all elements of lambda(sigma)/exp(u) (D(y + sigma n; sigma) - y)^2 + u, divided by the
 * batch size (the training loop's reduction).
 */
export function edm2Loss(
  arch: Architecture, p: ParamLookup, buffer: ParamLookup,
  y: tf.Tensor4D, sigma: tf.Tensor1D, noise: tf.Tensor4D, options: PrecondOptions = {},
): tf.Scalar {
  const [n, h, w, c] = y.shape;
  const s = tf.reshape(sigma, [-1, 1, 1, 1]);
  const xNoisy = tf.add(y, tf.mul(s, noise)) as tf.Tensor4D;
  const d = preconditionedDenoiser(arch, p, buffer, xNoisy, sigma, options);
  const d2 = SIGMA_DATA * SIGMA_DATA;
  const lambda = tf.div(tf.add(tf.square(sigma), d2), tf.mul(tf.square(sigma), d2));
  const u = logVariance(p, buffer, sigma);
  const perImageSquared = tf.sum(tf.squaredDifference(d, y), [1, 2, 3]); // [N]
  const weighted = tf.mul(tf.mul(lambda, tf.exp(tf.neg(u))), perImageSquared);
  const total = tf.add(tf.sum(weighted), tf.mul(tf.sum(u), h * w * c));
  return tf.div(total, n) as tf.Scalar;
}
