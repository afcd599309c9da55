import * as tf from '@tensorflow/tfjs';

/**
 * Adam as torch.optim.Adam computes it (MPUNET.md section 5): beta1 0.9, beta2 0.99, eps 1e-8, no
 * weight decay, bias-corrected, with every non-finite gradient entry replaced by 0 first
 * (force_finite). Our own implementation rather than tf.train.adam so that the moments and the
 * step count can be saved and restored exactly for resume.
 *
 *   m <- b1 m + (1 - b1) g,   v <- b2 v + (1 - b2) g^2,   t <- t + 1
 *   p <- p - (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 */
export interface AdamOptions {
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

export const ADAM_DEFAULTS: AdamOptions = { beta1: 0.9, beta2: 0.99, eps: 1e-8 };

export interface AdamState {
  readonly step: number;
  readonly m: ReadonlyMap<string, Float32Array>;
  readonly v: ReadonlyMap<string, Float32Array>;
}

/**
 * The update of one parameter tensor in place. A separate small function so that V8 optimises the
 * loop on its own (inside apply() it ran about twice as slow).
 */
function adamKernel(
  values: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array,
  { beta1, beta2, eps }: AdamOptions, stepSize: number, inverseCorrection2Sqrt: number,
): void {
  for (let i = 0; i < values.length; i++) {
    const g0 = g[i];
    const gi = g0 - g0 === 0 ? g0 : 0; // false exactly for NaN and +-Infinity
    // Rounded to float32 before use, as torch's float32 moments are.
    const mi = Math.fround(beta1 * m[i] + (1 - beta1) * gi);
    const vi = Math.fround(beta2 * v[i] + (1 - beta2) * gi * gi);
    m[i] = mi;
    v[i] = vi;
    values[i] -= (stepSize * mi) / (Math.sqrt(vi) * inverseCorrection2Sqrt + eps);
  }
}

export class Adam {
  /** Number of steps taken (t in the bias corrections). */
  step = 0;
  /**
   * Moments as plain arrays, updated in JS: one pass over 0.4 M values costs about 2 ms, while
   * the same update as tfjs ops is about ten kernels per parameter (20-30 ms a step on wasm).
   */
  readonly m = new Map<string, Float32Array>();
  readonly v = new Map<string, Float32Array>();

  constructor(params: ReadonlyMap<string, tf.Variable>, readonly options: AdamOptions = ADAM_DEFAULTS) {
    for (const [name, p] of params) {
      this.m.set(name, new Float32Array(p.size));
      this.v.set(name, new Float32Array(p.size));
    }
  }

  /** One update of every parameter in `params` with its gradient in `grads` (tensors or plain arrays). */
  apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor | Float32Array>, lr: number): void {
    const { beta1, beta2 } = this.options;
    this.step += 1;
    const stepSize = lr / (1 - beta1 ** this.step);
    const inverseCorrection2Sqrt = 1 / Math.sqrt(1 - beta2 ** this.step);
    for (const [name, p] of params) {
      const grad = grads.get(name);
      const m = this.m.get(name);
      const v = this.v.get(name);
      if (grad === undefined || m === undefined || v === undefined) {
        throw new Error(`adam: no gradient or moment for parameter '${name}'`);
      }
      const g = grad instanceof Float32Array ? grad : (grad.dataSync() as Float32Array);
      if (g.length !== p.size) throw new Error(`adam: gradient of '${name}' has ${g.length} values, expected ${p.size}`);
      // A copy: dataSync may return the variable's own storage (cpu backend), which must not change under tfjs.
      const values = (p.dataSync() as Float32Array).slice();
      adamKernel(values, g, m, v, this.options, stepSize, inverseCorrection2Sqrt);
      tf.tidy(() => p.assign(tf.tensor(values, p.shape, 'float32')));
    }
  }

  exportState(): AdamState {
    const copy = (map: Map<string, Float32Array>) => new Map([...map].map(([name, a]) => [name, Float32Array.from(a)]));
    return { step: this.step, m: copy(this.m), v: copy(this.v) };
  }

  importState(state: AdamState): void {
    this.step = state.step;
    for (const [target, source, label] of [[this.m, state.m, 'm'], [this.v, state.v, 'v']] as const) {
      for (const [name, moment] of target) {
        const data = source.get(name);
        if (data === undefined || data.length !== moment.length) {
          throw new Error(`adam ${label} for '${name}' is missing or has the wrong size`);
        }
        moment.set(data);
      }
    }
  }

  /** Nothing to free since the moments left tfjs; kept so that callers need not know. */
  dispose(): void {
    this.m.clear();
    this.v.clear();
  }
}
