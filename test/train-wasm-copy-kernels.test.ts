import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../src/train/backend.js';

/** Runs f on both backends with the same inputs; the cpu backend's stock kernels are the reference. */
async function both(f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const results: Array<Array<{ shape: number[]; values: number[] }>> = [];
  for (const backend of ['cpu', 'wasm'] as const) {
    await selectBackend(backend);
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    results.push(list.map((t) => ({ shape: t.shape, values: Array.from(t.dataSync()) })));
    tf.dispose(list);
  }
  await selectBackend('cpu');
  assert.deepEqual(results[1], results[0]);
}

const ramp = (shape: number[], dtype: 'float32' | 'int32' = 'float32'): tf.Tensor =>
  tf.reshape(tf.range(0, shape.reduce((a, b) => a * b, 1), 1, dtype), shape);

test('selecting the wasm backend installs these kernels', async () => {
  await selectBackend('wasm');
  for (const name of ['Concat', 'Slice', 'SplitV']) assert.equal((tf.getKernel(name, 'wasm') as { ours?: boolean }).ours, true, name);
  await selectBackend('cpu');
});

test('wasm concat along every axis equals the cpu backend, float32 and int32, with empty parts', async () => {
  for (const axis of [0, 1, 2, 3, -1]) {
    await both(() => tf.concat([ramp([2, 3, 4, 5]), tf.mul(ramp([2, 3, 4, 5]), -1)], axis));
  }
  await both(() => tf.concat([ramp([4, 6], 'int32'), ramp([4, 2], 'int32'), ramp([4, 0], 'int32')], 1));
  await both(() => tf.concat([ramp([3, 4, 4, 24]), ramp([3, 4, 4, 48]), ramp([3, 4, 4, 1])], 3));
});

test('wasm slice and split along inner axes equal the cpu backend', async () => {
  const x = (): tf.Tensor => ramp([3, 4, 5, 6]);
  await both(() => tf.slice(x(), [1, 0, 2, 1], [2, -1, 3, 4]));
  await both(() => tf.slice(x(), [0, 1, 0, 0], [3, 2, 5, 6])); // whole trailing axes: one run per row of axis 0
  await both(() => tf.slice(ramp([7]), [2], [4]));
  await both(() => tf.slice(ramp([5, 3], 'int32'), [1, 1], [3, 2]));
  await both(() => tf.split(x(), [2, 4], 3));
  await both(() => tf.split(x(), [1, 3, 1], 2));
  await both(() => tf.split(x(), 3, 0));
});
