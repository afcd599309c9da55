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

export class Adam {
  /** Number of steps taken (t in the bias corrections). */
  step = 0;
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();

  constructor(params: ReadonlyMap<string, tf.Variable>, readonly options: AdamOptions = ADAM_DEFAULTS) {
    for (const [name, p] of params) {
      // tidy disposes the temporary zeros (variables survive tidy).
      this.m.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
      this.v.set(name, tf.tidy(() => tf.variable(tf.zerosLike(p), false)));
    }
  }

  /** One update of every parameter in `params` with its gradient in `grads`. */
  apply(params: ReadonlyMap<string, tf.Variable>, grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    const { beta1, beta2, eps } = this.options;
    this.step += 1;
    const stepSize = lr / (1 - beta1 ** this.step);
    const correction2Sqrt = Math.sqrt(1 - beta2 ** this.step);
    tf.tidy(() => {
      for (const [name, p] of params) {
        const grad = grads.get(name);
        const m = this.m.get(name);
        const v = this.v.get(name);
        if (grad === undefined || m === undefined || v === undefined) {
          throw new Error(`adam: no gradient or moment for parameter '${name}'`);
        }
        const g = tf.where(tf.isFinite(grad), grad, tf.zerosLike(grad));
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), correction2Sqrt), eps);
        p.assign(tf.sub(p, tf.mul(tf.div(m, denom), stepSize)));
      }
    });
  }

  exportState(): AdamState {
    const read = (map: Map<string, tf.Variable>) =>
      new Map([...map].map(([name, t]) => [name, Float32Array.from(t.dataSync() as Float32Array)]));
    return { step: this.step, m: read(this.m), v: read(this.v) };
  }

  importState(state: AdamState): void {
    this.step = state.step;
    for (const [target, source, label] of [[this.m, state.m, 'm'], [this.v, state.v, 'v']] as const) {
      for (const [name, variable] of target) {
        const data = source.get(name);
        if (data === undefined || data.length !== variable.size) {
          throw new Error(`adam ${label} for '${name}' is missing or has the wrong size`);
        }
        tf.tidy(() => variable.assign(tf.tensor(data, variable.shape, 'float32')));
      }
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
  }
}
