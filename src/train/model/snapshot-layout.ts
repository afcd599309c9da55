/**
 * Conversion between our tensors and the official network's names and layouts (conv [out, in, k, k],
 * linear [out, in], attn_qkv output channels interleaved as (head*ch + c)*3 + s), so snapshots we write
 * hold exactly the tensors the official network's state dict holds.
 */
import * as tf from '@tensorflow/tfjs';
import { InputFileError } from '../../errors.js';
import { ParamSpec } from './architecture.js';
import { Network } from './network.js';

export interface ExportedTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Official output channel o for our output channel: grouped s*C + j  <->  interleaved j*3 + s. */
function officialOut(spec: ParamSpec, ours: number): number {
  if (!spec.qkv) return ours;
  const c = spec.officialShape[0] / 3;
  return (ours % c) * 3 + Math.floor(ours / c);
}

/** Index maps between our flat layout and the official flat layout, per element of ours. */
function toOfficialIndex(spec: ParamSpec): (oursFlat: number) => number {
  if (spec.kind === 'gain') return (i) => i;
  if (spec.kind === 'linear') {
    const [cin, cout] = spec.internalShape;
    return (i) => {
      const o = i % cout;
      const inp = Math.floor(i / cout);
      return o * cin + inp;
    };
  }
  const [k, , cin, cout] = spec.internalShape;
  return (i) => {
    const o = i % cout;
    const inp = Math.floor(i / cout) % cin;
    const ab = Math.floor(i / (cout * cin)); // a*k + b
    return ((officialOut(spec, o) * cin + inp) * k * k) + ab;
  };
}

function toOfficial(spec: ParamSpec, ours: Float32Array): Float32Array {
  const out = new Float32Array(ours.length);
  const map = toOfficialIndex(spec);
  for (let i = 0; i < ours.length; i++) out[map(i)] = ours[i];
  return out;
}

function fromOfficial(spec: ParamSpec, official: Float32Array): Float32Array {
  const out = new Float32Array(official.length);
  const map = toOfficialIndex(spec);
  for (let i = 0; i < official.length; i++) out[i] = official[map(i)];
  return out;
}

/** Gradients (or any tensors keyed and shaped like net.params) in official names and layouts. */
export function toOfficialLayout(net: Network, tensors: ReadonlyMap<string, tf.Tensor>): ExportedTensor[] {
  return net.architecture.params.map((spec) => {
    const t = tensors.get(spec.name);
    if (t === undefined) throw new Error(`no tensor for parameter '${spec.name}'`);
    return { name: spec.name, shape: [...spec.officialShape], data: toOfficial(spec, t.dataSync() as Float32Array) };
  });
}

/** Parameters (and with 'all', the Fourier buffers) in official names, layouts and order. */
export function exportTensors(net: Network, which: 'params' | 'all' = 'params'): ExportedTensor[] {
  const result = toOfficialLayout(net, net.params);
  if (which === 'all') {
    for (const spec of net.architecture.buffers) {
      const data = Float32Array.from((net.buffers.get(spec.name) as tf.Tensor).dataSync() as Float32Array);
      result.push({ name: spec.name, shape: [spec.length], data });
    }
  }
  return result;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Loads official-layout tensors into the network. Every parameter must be present; buffers are
 * loaded when present (a params-only file keeps the network's own Fourier features).
 */
export function importTensors(net: Network, tensors: Map<string, { shape: number[]; data: Float32Array }>): void {
  const checked = (name: string, shape: number[]): Float32Array | undefined => {
    const t = tensors.get(name);
    if (t === undefined) return undefined;
    const count = shape.reduce((a, b) => a * b, 1);
    if (!sameShape(t.shape, shape) || t.data.length !== count) {
      throw new InputFileError(
        `tensor '${name}' has shape [${t.shape.join(', ')}] (${t.data.length} values), expected [${shape.join(', ')}]`,
        'the file was written for a different network config',
      );
    }
    return t.data;
  };
  const updates: Array<[tf.Tensor, Float32Array, number[]]> = [];
  for (const spec of net.architecture.params) {
    const data = checked(spec.name, spec.officialShape);
    if (data === undefined) {
      throw new InputFileError(`tensor '${spec.name}' is missing`, 'the file was written for a different network config');
    }
    updates.push([net.params.get(spec.name) as tf.Variable, fromOfficial(spec, data), spec.internalShape]);
  }
  for (const spec of net.architecture.buffers) {
    const data = checked(spec.name, [spec.length]);
    if (data !== undefined) updates.push([net.buffers.get(spec.name) as tf.Tensor, data, [spec.length]]);
  }
  // Buffers are plain tensors in a read-only map: swap their contents through a variable-free path.
  const buffers = net.buffers as Map<string, tf.Tensor>;
  for (const [target, data, shape] of updates) {
    if (target instanceof tf.Variable) {
      tf.tidy(() => target.assign(tf.tensor(data, shape, 'float32')));
    } else {
      for (const [name, t] of buffers) {
        if (t === target) {
          buffers.set(name, tf.keep(tf.tensor(Float32Array.from(data), shape, 'float32')));
          t.dispose();
        }
      }
    }
  }
}
