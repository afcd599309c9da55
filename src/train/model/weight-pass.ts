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
  /** The same values as arrays (what a worker thread is sent). */
  readonly arrays: Map<string, Float32Array>;
  /** Parameter gradients (our layout, every parameter) from dL/dW_hat per weight name. */
  backward(dHat: ReadonlyMap<string, Float32Array>): Map<string, Float32Array>;
  dispose(): void;
}

export function prepareWeights(arch: Architecture, params: ReadonlyMap<string, tf.Tensor>): WeightPass {
  const read = (name: string): Float32Array => (params.get(name) as tf.Tensor).dataSync() as Float32Array;
  const prepared: Prepared[] = [];
  const tensors = new Map<string, tf.Tensor>();
  const arrays = new Map<string, Float32Array>();
  for (const spec of arch.params) {
    if (spec.kind === 'gain') continue;
    const w = read(spec.name);
    const rows = rowStats(w, outputChannels(spec));
    const gain = spec.gain === undefined ? 1 : read(spec.gain)[0];
    prepared.push({ spec, w, rows, gain });
    const effective = effectiveRows(w, rows, gain);
    arrays.set(spec.name, effective);
    tensors.set(spec.name, tf.tensor(effective, spec.internalShape, 'float32'));
  }
  return {
    tensors,
    arrays,
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

/** Weights (not gains) in architecture order: the order of flat effective-weight arrays. */
export function weightSpecs(arch: Architecture): ParamSpec[] {
  return arch.params.filter((spec) => spec.kind !== 'gain');
}

/** Effective-weight tensors from one flat array in weightSpecs order (a worker thread's input). */
export function effectiveTensors(arch: Architecture, flat: Float32Array): Map<string, tf.Tensor> {
  const tensors = new Map<string, tf.Tensor>();
  let offset = 0;
  for (const spec of weightSpecs(arch)) {
    const size = spec.internalShape.reduce((a, b) => a * b, 1);
    tensors.set(spec.name, tf.tensor(flat.subarray(offset, offset + size), spec.internalShape, 'float32'));
    offset += size;
  }
  if (offset !== flat.length) throw new Error(`effective weights: ${flat.length} values, the network has ${offset}`);
  return tensors;
}

/** Values per weight name (effective weights or dL/dW_hat) as one array in weightSpecs order. */
export function flattenEffective(arch: Architecture, values: ReadonlyMap<string, Float32Array>): Float32Array {
  const specs = weightSpecs(arch);
  const flat = new Float32Array(specs.reduce((sum, s) => sum + s.internalShape.reduce((a, b) => a * b, 1), 0));
  let offset = 0;
  for (const spec of specs) {
    const data = values.get(spec.name) as Float32Array;
    flat.set(data, offset);
    offset += data.length;
  }
  return flat;
}

/** Views of a flat array in weightSpecs order, per weight name (no copies). */
export function splitEffective(arch: Architecture, flat: Float32Array): Map<string, Float32Array> {
  const views = new Map<string, Float32Array>();
  let offset = 0;
  for (const spec of weightSpecs(arch)) {
    const size = spec.internalShape.reduce((a, b) => a * b, 1);
    views.set(spec.name, flat.subarray(offset, offset + size));
    offset += size;
  }
  return views;
}
