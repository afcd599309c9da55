import * as tf from '@tensorflow/tfjs';
import { sigmaRelToGamma, trackingBeta } from '../phema/profile.js';

/**
 * Power-function EMAs of the parameters, tracked during training (MATH.md "Tracking during
 * training"): after every optimizer step that advances time (in images) from t - dt to t,
 * beta = (1 - dt/t)^(gamma + 1) and ema <- beta ema + (1 - beta) theta. The first update has
 * beta = 0, so the starting copies never matter. Buffers are not averaged (they never change).
 */
export interface TrackedProfile {
  readonly sigmaRel: number;
  readonly gamma: number;
  readonly params: Map<string, tf.Variable>;
}

export class EmaTracker {
  readonly profiles: TrackedProfile[];

  constructor(params: ReadonlyMap<string, tf.Variable>, sigmaRels: readonly number[]) {
    this.profiles = sigmaRels.map((sigmaRel) => ({
      sigmaRel,
      gamma: sigmaRelToGamma(sigmaRel),
      params: new Map([...params].map(([name, p]) => [name, tf.tidy(() => tf.variable(p.clone(), false))])),
    }));
  }

  /** Call after the optimizer step that brought the time to `time` (images), with dt = its batch. */
  update(params: ReadonlyMap<string, tf.Variable>, time: number, dt: number): void {
    for (const profile of this.profiles) {
      const beta = trackingBeta(profile.gamma, time, dt);
      tf.tidy(() => {
        for (const [name, ema] of profile.params) {
          const p = params.get(name);
          if (p === undefined) throw new Error(`ema: parameter '${name}' disappeared from the network`);
          ema.assign(tf.add(tf.mul(ema, beta), tf.mul(p, 1 - beta)));
        }
      });
    }
  }

  exportState(): Array<Map<string, Float32Array>> {
    return this.profiles.map((profile) =>
      new Map([...profile.params].map(([name, t]) => [name, Float32Array.from(t.dataSync() as Float32Array)])));
  }

  importState(state: ReadonlyArray<ReadonlyMap<string, Float32Array>>): void {
    this.profiles.forEach((profile, k) => {
      for (const [name, variable] of profile.params) {
        const data = state[k]?.get(name);
        if (data === undefined || data.length !== variable.size) {
          throw new Error(`ema ${profile.sigmaRel} for '${name}' is missing or has the wrong size`);
        }
        tf.tidy(() => variable.assign(tf.tensor(data, variable.shape, 'float32')));
      }
    });
  }

  dispose(): void {
    for (const profile of this.profiles) for (const t of profile.params.values()) t.dispose();
  }
}
