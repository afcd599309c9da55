/**
 * All parameters (or buffers) of a network as one Float32Array in architecture order and our
 * layouts, for cheap transfer between worker threads.
 */
import * as tf from '@tensorflow/tfjs';
import type { Network } from './network.js';

function total(sizes: number[]): number {
  return sizes.reduce((a, b) => a + b, 0);
}

export function flattenParams(net: Network): Float32Array {
  const specs = net.architecture.params;
  const flat = new Float32Array(total(specs.map((s) => s.internalShape.reduce((a, b) => a * b, 1))));
  let offset = 0;
  for (const spec of specs) {
    const data = (net.params.get(spec.name) as tf.Variable).dataSync() as Float32Array;
    flat.set(data, offset);
    offset += data.length;
  }
  return flat;
}

export function loadFlatParams(net: Network, flat: Float32Array): void {
  let offset = 0;
  for (const spec of net.architecture.params) {
    const size = spec.internalShape.reduce((a, b) => a * b, 1);
    const v = net.params.get(spec.name) as tf.Variable;
    tf.tidy(() => v.assign(tf.tensor(flat.subarray(offset, offset + size), spec.internalShape, 'float32')));
    offset += size;
  }
  if (offset !== flat.length) throw new Error(`flat parameters: ${flat.length} values, network has ${offset}`);
}

export function flattenBuffers(net: Network): Float32Array {
  const specs = net.architecture.buffers;
  const flat = new Float32Array(total(specs.map((s) => s.length)));
  let offset = 0;
  for (const spec of specs) {
    flat.set((net.buffers.get(spec.name) as tf.Tensor).dataSync() as Float32Array, offset);
    offset += spec.length;
  }
  return flat;
}

export function loadFlatBuffers(net: Network, flat: Float32Array): void {
  const buffers = net.buffers as Map<string, tf.Tensor>;
  let offset = 0;
  for (const spec of net.architecture.buffers) {
    const old = buffers.get(spec.name) as tf.Tensor;
    buffers.set(spec.name, tf.keep(tf.tensor1d(flat.slice(offset, offset + spec.length), 'float32')));
    old.dispose();
    offset += spec.length;
  }
}
