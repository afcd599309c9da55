/** Backend selection (src/train/backend.ts) on a machine without the native TensorFlow packages. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../src/errors.js';
import { selectBackend } from '../src/train/backend.js';

for (const [name, pkg] of [['tensorflow', '@tensorflow/tfjs-node'], ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu']] as const) {
  test(`--backend ${name} without ${pkg} says how to install it and that the install downloads libtensorflow`, async () => {
    await assert.rejects(selectBackend(name), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, new RegExp(`--backend ${name} needs the optional package ${pkg.replace('/', '\\/')}`));
      assert.match(e.hint ?? '', new RegExp(`npm install ${pkg.replace('/', '\\/')}`));
      assert.match(e.hint ?? '', /libtensorflow/);
      return true;
    });
  });
}

test('auto picks wasm when no native backend is installed, and wasm computes offline', async () => {
  assert.equal(await selectBackend('auto'), 'wasm');
  assert.deepEqual(Array.from(tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync())), [2, 3]);
  assert.equal(await selectBackend('cpu'), 'cpu');
});

test('an unknown backend name is a usage error naming the choices', async () => {
  await assert.rejects(selectBackend('gpu' as never), /unknown backend 'gpu'; expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu/);
});
