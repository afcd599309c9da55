/**
 * The EDM second-order (Heun) sampler, deterministic (MPUNET.md section 6): churn, guidance and
 * class labels are off. The schedule is plain float64 math so it can be tested by formula.
 */
import * as tf from '@tensorflow/tfjs';

export interface ScheduleOptions {
  readonly steps: number;
  readonly sigmaMin: number;
  readonly sigmaMax: number;
  readonly rho: number;
}

export const SAMPLER_DEFAULTS: ScheduleOptions = { steps: 32, sigmaMin: 0.002, sigmaMax: 80, rho: 7 };

/**
 * t_i = (sigmaMax^(1/rho) + i/(N-1) (sigmaMin^(1/rho) - sigmaMax^(1/rho)))^rho for i < N, t_N = 0.
 * Returns N + 1 values. N = 1 takes a single Euler step from sigmaMax.
 */
export function noiseSchedule(options: ScheduleOptions = SAMPLER_DEFAULTS): Float64Array {
  const { steps, sigmaMin, sigmaMax, rho } = options;
  if (!(Number.isInteger(steps) && steps >= 1)) throw new RangeError(`steps must be a positive integer, got ${steps}`);
  if (!(sigmaMin > 0 && sigmaMax > sigmaMin && rho > 0)) {
    throw new RangeError(`need 0 < sigmaMin < sigmaMax and rho > 0, got ${sigmaMin}, ${sigmaMax}, ${rho}`);
  }
  const t = new Float64Array(steps + 1);
  const hi = sigmaMax ** (1 / rho);
  const lo = sigmaMin ** (1 / rho);
  for (let i = 0; i < steps; i++) t[i] = (hi + (steps === 1 ? 0 : i / (steps - 1)) * (lo - hi)) ** rho;
  t[steps] = 0;
  return t;
}

/** D(x; sigma) for a batch at one noise level; the sampler owns and disposes what it passes in. */
export type Denoiser = (x: tf.Tensor4D, sigma: number) => tf.Tensor4D;

/**
 * Heun's method on the probability-flow ODE from x_0 = t_0 * noise down to sigma 0:
 * d = (x - D(x; t_i)) / t_i; Euler to t_{i+1}; a second evaluation corrects every step except the
 * last (2N - 1 network evaluations). `noise` is unit normal; the caller keeps ownership of it.
 */
export function heunSample(denoiser: Denoiser, noise: tf.Tensor4D, schedule: Float64Array): tf.Tensor4D {
  const steps = schedule.length - 1;
  // The denoiser is called outside tf.tidy: a model may cache tensors across calls, which an
  // enclosing tidy would dispose. Everything else is disposed by hand.
  let x = tf.mul(noise, schedule[0]) as tf.Tensor4D;
  for (let i = 0; i < steps; i++) {
    const tCur = schedule[i];
    const tNext = schedule[i + 1];
    const denoised = denoiser(x, tCur);
    const d = tf.tidy(() => tf.div(tf.sub(x, denoised), tCur)) as tf.Tensor4D;
    denoised.dispose();
    const euler = tf.tidy(() => tf.add(x, tf.mul(d, tNext - tCur))) as tf.Tensor4D;
    let next = euler;
    if (i < steps - 1) {
      const denoised2 = denoiser(euler, tNext);
      next = tf.tidy(() => {
        const d2 = tf.div(tf.sub(euler, denoised2), tNext);
        return tf.add(x, tf.mul(tf.add(d, d2), 0.5 * (tNext - tCur))) as tf.Tensor4D;
      });
      tf.dispose([denoised2, euler]);
    }
    tf.dispose([d, x]);
    x = next;
  }
  return x;
}
