/**
 * The built-in evaluation metric: validation denoising loss on the held-out split, at a fixed set
 * of noise levels, with noise that depends only on (seed, image, level). Deterministic for a seed
 * and independent of the evaluation batch size, so `sweep --eval builtin` compares EMA lengths on
 * identical problems. Lower is better.
 *
 * For held-out image y, level sigma and its fixed noise e, the score is the EDM-weighted error
 *   lambda(sigma) * mean over pixels and channels of (D(y + sigma e; sigma) - y)^2,
 *   lambda(sigma) = (sigma^2 + sigma_data^2) / (sigma sigma_data)^2,
 * which puts every level on a comparable scale (no single level dominates the mean).
 * The metric is the mean over levels of the mean over images.
 */
import * as tf from '@tensorflow/tfjs';
import { imageSize, type ImageDataset } from './data/dataset.js';
import { denoise, type Network } from './model/network.js';
import { CounterRng, RngStream } from './rng.js';

/** Log-spaced over the range the img64 training distribution (P_mean -0.8, P_std 1.6) covers. */
export const EVAL_SIGMAS = [0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10] as const;

export interface EvaluateOptions {
  readonly sigmas?: readonly number[];
  /** Held-out images used (default: up to 256). */
  readonly count?: number;
  readonly seed?: number;
  readonly batch?: number;
  readonly sigmaData?: number;
}

export interface EvaluationResult {
  readonly metric: number;
  readonly images: number;
  readonly perSigma: ReadonlyArray<{ sigma: number; loss: number }>;
}

export function evaluateDenoising(net: Network, dataset: ImageDataset, options: EvaluateOptions = {}): EvaluationResult {
  const sigmas = options.sigmas ?? EVAL_SIGMAS;
  const count = Math.min(options.count ?? 256, dataset.heldOutCount);
  if (count < 1) throw new RangeError(`the data set ${dataset.source} has no held-out images to evaluate on`);
  const seed = options.seed ?? 0;
  const batch = options.batch ?? 32;
  const sigmaData = options.sigmaData ?? 0.5;
  const size = imageSize(dataset);
  const { resolution, channels } = dataset;
  const totals = sigmas.map(() => 0);
  for (let start = 0; start < count; start += batch) {
    const n = Math.min(batch, count - start);
    const clean = new Float32Array(n * size);
    for (let j = 0; j < n; j++) dataset.readHeldOut(start + j, clean, j * size);
    sigmas.forEach((sigma, k) => {
      const noisy = new Float32Array(n * size);
      for (let j = 0; j < n; j++) {
        const rng = new CounterRng([seed, RngStream.evalNoise, start + j, k]);
        for (let e = 0; e < size; e++) noisy[j * size + e] = clean[j * size + e] + sigma * rng.normal();
      }
      // denoise runs outside tf.tidy: the model may cache tensors across calls.
      const y = tf.tensor4d(clean, [n, resolution, resolution, channels]);
      const x = tf.tensor4d(noisy, [n, resolution, resolution, channels]);
      const sigmas = tf.fill([n], sigma) as tf.Tensor1D;
      const d = denoise(net, x, sigmas);
      const perImage = tf.tidy(() => tf.mean(tf.square(tf.sub(d, y)), [1, 2, 3]));
      const values = perImage.dataSync();
      tf.dispose([y, x, sigmas, d, perImage]);
      const weight = (sigma * sigma + sigmaData * sigmaData) / (sigma * sigmaData) ** 2;
      for (let j = 0; j < n; j++) totals[k] += weight * values[j];
    });
  }
  const perSigma = sigmas.map((sigma, k) => ({ sigma, loss: totals[k] / count }));
  const metric = perSigma.reduce((a, b) => a + b.loss, 0) / perSigma.length;
  return { metric, images: count, perSigma };
}
