import * as tf from '@tensorflow/tfjs';
import { sigmaRelToGamma, trackingBeta } from '../phema/profile.js';

/**
 * Power-function EMAs of the parameters, tracked during training (MATH.md "Tracking during
 * training"): after every optimizer step that advances time (in images) from t - dt to t,
 * beta = (1 - dt/t)^(gamma + 1) and ema <- beta ema + (1 - beta) theta. The first update has
 * beta = 0, so the starting copies never matter. Buffers are not averaged (they never change).
 *
 * The averages live in plain arrays and are updated in JS (a few milliseconds a step for small16):
 * as tfjs ops the update is three kernels per parameter and profile, and keeping tfjs variables
 * current would cost one upload per tensor per step. Variables are made only when read (snapshots).
 */
export interface TrackedProfile {
  readonly sigmaRel: number;
  readonly gamma: number;
  /** The average as tfjs variables, refreshed on access after updates; owned by the tracker. */
  readonly params: Map<string, tf.Variable>;
}

/** ema <- beta ema + (1 - beta) theta, in place; a function of its own so that V8 optimises the loop. */
function blendInto(ema: Float32Array, theta: Float32Array, beta: number): void {
  const alpha = 1 - beta;
  for (let i = 0; i < ema.length; i++) ema[i] = beta * ema[i] + alpha * theta[i];
}

class Profile implements TrackedProfile {
  readonly gamma: number;
  private variables: Map<string, tf.Variable> | undefined;
  private stale = true;

  constructor(readonly sigmaRel: number, readonly values: Map<string, Float32Array>, private readonly shapes: Map<string, number[]>) {
    this.gamma = sigmaRelToGamma(sigmaRel);
  }

  get params(): Map<string, tf.Variable> {
    if (this.variables === undefined) {
      this.variables = new Map([...this.values].map(([name, data]) => [
        name, tf.tidy(() => tf.variable(tf.tensor(data, this.shapes.get(name), 'float32'), false)),
      ]));
    } else if (this.stale) {
      for (const [name, v] of this.variables) {
        tf.tidy(() => v.assign(tf.tensor(this.values.get(name) as Float32Array, v.shape, 'float32')));
      }
    }
    this.stale = false;
    return this.variables;
  }

  touched(): void {
    this.stale = true;
  }

  dispose(): void {
    for (const t of this.variables?.values() ?? []) t.dispose();
    this.variables = undefined;
  }
}

export class EmaTracker {
  private readonly tracked: Profile[];

  constructor(params: ReadonlyMap<string, tf.Variable>, sigmaRels: readonly number[]) {
    const shapes = new Map([...params].map(([name, p]) => [name, [...p.shape]]));
    this.tracked = sigmaRels.map((sigmaRel) => new Profile(
      sigmaRel, new Map([...params].map(([name, p]) => [name, (p.dataSync() as Float32Array).slice()])), shapes,
    ));
  }

  get profiles(): readonly TrackedProfile[] {
    return this.tracked;
  }

  /** Call after the optimizer step that brought the time to `time` (images), with dt = its batch. */
  update(params: ReadonlyMap<string, tf.Variable>, time: number, dt: number): void {
    const betas = this.tracked.map((profile) => trackingBeta(profile.gamma, time, dt));
    for (const [name, p] of params) {
      const theta = p.dataSync() as Float32Array;
      this.tracked.forEach((profile, k) => {
        const ema = profile.values.get(name);
        if (ema === undefined) throw new Error(`ema: parameter '${name}' is not tracked`);
        blendInto(ema, theta, betas[k]);
      });
    }
    for (const profile of this.tracked) profile.touched();
  }

  exportState(): Array<Map<string, Float32Array>> {
    return this.tracked.map((profile) => new Map([...profile.values].map(([name, a]) => [name, a.slice()])));
  }

  importState(state: ReadonlyArray<ReadonlyMap<string, Float32Array>>): void {
    this.tracked.forEach((profile, k) => {
      for (const [name, values] of profile.values) {
        const data = state[k]?.get(name);
        if (data === undefined || data.length !== values.length) {
          throw new Error(`ema ${profile.sigmaRel} for '${name}' is missing or has the wrong size`);
        }
        values.set(data);
      }
      profile.touched();
    });
  }

  dispose(): void {
    for (const profile of this.tracked) profile.dispose();
  }
}
