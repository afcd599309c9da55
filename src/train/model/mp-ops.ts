/**
 * Magnitude-preserving primitives (MPUNET.md section 1), NHWC. Each keeps unit-variance inputs at
 * unit RMS, which is what lets the UNet train without normalisation layers.
 */
import * as tf from '@tensorflow/tfjs';

export const NORMALIZE_EPS = 1e-4;
const SILU_RMS = 0.596;

const constants = new Map<string, tf.Scalar>();

/**
 * A cached scalar tensor. tf.mul(x, 0.3) creates and uploads a new scalar each call (about 50 us
 * on wasm); the layers multiply by constants a few hundred times per step.
 */
export function constant(value: number): tf.Scalar {
  const key = `${tf.getBackend()}:${value}`;
  let t = constants.get(key);
  if (t === undefined || t.isDisposed) {
    t = tf.keep(tf.scalar(value, 'float32'));
    constants.set(key, t);
  }
  return t;
}

/**
 * x / (eps + rms over `axes`): eps is added to the RMS, not to the norm (section 1.1).
 * Written as one op with its gradient, d/dx = (dy - x (x.dy)/(d |x| sqrt(M))) / d with
 * d = eps + |x|/sqrt(M), so the tape records one node instead of six (each with saved copies).
 */
export function normalize<T extends tf.Tensor>(x: T, axes: number[], eps = NORMALIZE_EPS): T {
  let count = 1;
  for (const a of axes) count *= x.shape[a];
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const xi = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    const norm = tf.sqrt(tf.sum(tf.square(xi), axes, true));
    const denom = tf.add(tf.mul(norm, constant(1 / Math.sqrt(count))), constant(eps));
    save([xi, norm, denom]);
    return {
      value: tf.div(xi, denom),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ns, ds] = saved;
        const dot = tf.sum(tf.mul(dy, xs), axes, true);
        const coef = tf.div(dot, tf.mul(tf.mul(ds, ns), constant(Math.sqrt(count))));
        return [tf.div(tf.sub(dy, tf.mul(xs, coef)), ds)];
      },
    };
  });
  return op(x) as T;
}

/**
 * silu(x)/0.596 with a hand-written gradient: one fused backward expression instead of the
 * several elementwise kernels autodiff would record for x*sigmoid(x)/c.
 */
export const mpSilu = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x = args[0] as tf.Tensor;
  const save = args[1] as tf.GradSaveFunc;
  const s = tf.sigmoid(x);
  save([x, s]);
  return {
    value: tf.mul(tf.mul(x, s), constant(1 / SILU_RMS)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [xs, ss] = saved;
      // d/dx x*s(x) = s + x*s*(1-s) = s*(1 + x*(1-s))
      const one = constant(1);
      const local = tf.mul(ss, tf.add(one, tf.mul(xs, tf.sub(one, ss))));
      return [tf.mul(dy, tf.mul(local, constant(1 / SILU_RMS)))];
    },
  };
}) as <T extends tf.Tensor>(x: T) => T;

/** ((1-t)a + t b) / sqrt((1-t)^2 + t^2) (section 1.3); a and b of one shape. One tape node. */
export function mpSum<T extends tf.Tensor>(a: T, b: T, t: number): T {
  const scale = 1 / Math.sqrt((1 - t) ** 2 + t ** 2);
  const wa = constant((1 - t) * scale);
  const wb = constant(t * scale);
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, y] = args as tf.Tensor[];
    return {
      value: tf.add(tf.mul(x, wa), tf.mul(y, wb)),
      gradFunc: (dy: tf.Tensor) => [tf.mul(dy, wa), tf.mul(dy, wb)],
    };
  });
  return op(a, b) as T;
}

/** Channel concatenation [a, b] with weights that keep the joint magnitude (section 1.4). One tape node. */
export function mpCat(a: tf.Tensor4D, b: tf.Tensor4D, t: number): tf.Tensor4D {
  const na = a.shape[3];
  const nb = b.shape[3];
  const k = Math.sqrt((na + nb) / ((1 - t) ** 2 + t ** 2));
  const wa = constant((k * (1 - t)) / Math.sqrt(na));
  const wb = constant((k * t) / Math.sqrt(nb));
  const op = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, y] = args as tf.Tensor4D[];
    return {
      value: tf.concat([tf.mul(x, wa) as tf.Tensor4D, tf.mul(y, wb) as tf.Tensor4D], 3),
      gradFunc: (dy: tf.Tensor4D) => {
        const [da, db] = tf.split(dy, [na, nb], 3);
        return [tf.mul(da, wa), tf.mul(db, wb)];
      },
    };
  });
  return op(a, b) as tf.Tensor4D;
}

/** sqrt(2) cos(s * freqs + phases) for per-sample scalars s [N] -> [N, C] (section 1.5). */
export function mpFourier(s: tf.Tensor1D, freqs: tf.Tensor1D, phases: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    const arg = tf.add(tf.mul(tf.reshape(s, [-1, 1]), tf.reshape(freqs, [1, -1])), tf.reshape(phases, [1, -1]));
    return tf.mul(tf.cos(arg), Math.SQRT2) as tf.Tensor2D;
  });
}

/**
 * Nearest-neighbour 2x upsampling. The gradient is written out as 4 * avgPool(dy) because the
 * cpu backend's ResizeNearestNeighborGrad is wrong (MPUNET.md section 9).
 */
const upsample2x = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const x4 = args[0] as tf.Tensor4D;
  return {
    value: tf.image.resizeNearestNeighbor(x4, [x4.shape[1] * 2, x4.shape[2] * 2]),
    gradFunc: (dy: tf.Tensor4D) => [tf.mul(tf.avgPool(dy, 2, 2, 'valid'), constant(4))],
  };
}) as (x: tf.Tensor4D) => tf.Tensor4D;

/** resample with the [1,1] filter: identity, 2x2 average pooling, or 2x nearest upsampling (section 1.7). */
export function resample(x: tf.Tensor4D, mode: 'keep' | 'down' | 'up'): tf.Tensor4D {
  if (mode === 'down') return tf.avgPool(x, 2, 2, 'valid');
  if (mode === 'up') return upsample2x(x);
  return x;
}

export const CLIP_ACT = 256;

/**
 * clip(x, -256, 256). Activations essentially never reach 256, and then the clip is the identity
 * (value and gradient), so one max-abs check replaces the five kernels clip and its gradient cost.
 */
export function clipActivations<T extends tf.Tensor>(x: T): T {
  const peak = tf.tidy(() => tf.max(tf.abs(x)).dataSync()[0]);
  return peak <= CLIP_ACT ? x : tf.clipByValue(x, -CLIP_ACT, CLIP_ACT);
}
