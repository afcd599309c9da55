/**
 * One step's effective weights as tfjs tensors, and the way back from their gradients to the
 * gradients of the stored parameters (weights and gains). See effective-weights.ts for the math.
 */
import * as tf from '@tensorflow/tfjs';
import type { Architecture, ParamSpec } from './architecture.js';
import {
  effectiveRows, effectiveRowsBackward, outputChannels, rowStats, WeightRows,
} from './effective-weights.js';

interface Prepared {
  spec: ParamSpec;
  w: Float32Array;
  rows: WeightRows;
  gain: number;
}

export interface WeightPass {
  /** Effective weights keyed by the weight's official name; the caller disposes them via dispose(). */
  readonly tensors: Map<string, tf.Tensor>;
  /** Parameter gradients (our layout, every parameter) from dL/dW_hat per weight name. */
  backward(dHat: ReadonlyMap<string, Float32Array>): Map<string, Float32Array>;
  dispose(): void;
}

/** params: tensors, or plain arrays in our layouts (a worker thread's copy, never uploaded). */
export function prepareWeights(arch: Architecture, params: ReadonlyMap<string, tf.Tensor | Float32Array>): WeightPass {
  const read = (name: string): Float32Array => {
    const p = params.get(name) as tf.Tensor | Float32Array;
    return p instanceof Float32Array ? p : (p.dataSync() as Float32Array);
  };
  const prepared: Prepared[] = [];
  const tensors = new Map<string, tf.Tensor>();
  for (const spec of arch.params) {
    if (spec.kind === 'gain') continue;
    const w = read(spec.name);
    const rows = rowStats(w, outputChannels(spec));
    const gain = spec.gain === undefined ? 1 : read(spec.gain)[0];
    prepared.push({ spec, w, rows, gain });
    tensors.set(spec.name, tf.tensor(effectiveRows(w, rows, gain), spec.internalShape, 'float32'));
  }
  return {
    tensors,
    backward(dHat) {
      const grads = new Map<string, Float32Array>();
      for (const { spec, w, rows, gain } of prepared) {
        const d = dHat.get(spec.name);
        if (d === undefined) throw new Error(`no gradient for effective weight '${spec.name}'`);
        const { dW, dGain } = effectiveRowsBackward(w, rows, gain, d);
        grads.set(spec.name, dW);
        if (spec.gain !== undefined) grads.set(spec.gain, Float32Array.of(dGain));
      }
      // Gains that scale nothing (none in this architecture) would get zero.
      for (const spec of arch.params) if (!grads.has(spec.name)) grads.set(spec.name, new Float32Array(1));
      return grads;
    },
    dispose() {
      for (const t of tensors.values()) t.dispose();
    },
  };
}
