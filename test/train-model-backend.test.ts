/** Backend selection (src/train/backend.ts), with and without the optional native TensorFlow packages. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../src/errors.js';
import { selectBackend } from '../src/train/backend.js';

process.env.TF_CPP_MIN_LOG_LEVEL ??= '1'; // no INFO banners from TensorFlow on stderr
const installed = async (pkg: string): Promise<boolean> => import(pkg).then(() => true, () => false);
const nativeCpu = await installed('@tensorflow/tfjs-node');
const nativeGpu = await installed('@tensorflow/tfjs-node-gpu');

for (const [name, pkg, present] of [['tensorflow', '@tensorflow/tfjs-node', nativeCpu], ['tensorflow-gpu', '@tensorflow/tfjs-node-gpu', nativeGpu]] as const) {
  const skip = present ? `${pkg} is installed here` : false;
  test(`--backend ${name} without ${pkg} says how to install it: the setup command, or npm install where libtensorflow downloads`, { skip }, async () => {
    await assert.rejects(selectBackend(name), (e: unknown) => {
      assert.ok(e instanceof UsageError);
      assert.match(e.message, new RegExp(`--backend ${name} needs the optional package ${pkg.replace('/', '\\/')}`));
      assert.match(e.hint ?? '', new RegExp(`npm run setup:tensorflow${name === 'tensorflow-gpu' ? ' -- --gpu' : ''} `));
      assert.match(e.hint ?? '', new RegExp(`npm install ${pkg.replace('/', '\\/')}`));
      assert.match(e.hint ?? '', /libtensorflow/);
      return true;
    });
  });
}

test('auto picks native TensorFlow when installed, else wasm, and both compute', async () => {
  assert.equal(await selectBackend('auto'), nativeCpu || nativeGpu ? 'tensorflow' : 'wasm');
  assert.deepEqual(Array.from(tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync())), [2, 3]);
  assert.equal(await selectBackend('wasm'), 'wasm');
  assert.deepEqual(Array.from(tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).dataSync())), [2, 3]);
  assert.equal(await selectBackend('cpu'), 'cpu');
});

test('--threads is refused where there is no native thread pool to size', async () => {
  await assert.rejects(selectBackend('wasm', { threads: 2 }), /--threads 2 sets native TensorFlow's thread pool, but the backend is wasm/);
  await assert.rejects(selectBackend('cpu', { threads: 0 }), /--threads 0: expected an integer >= 1/);
});

test('--backend tensorflow-gpu on a machine without a usable GPU is one usage error, not a silent CPU run', { skip: nativeGpu ? false : '@tensorflow/tfjs-node-gpu is not installed' }, async () => {
  const gpu = await selectBackend('tensorflow-gpu').then(() => true, (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /--backend tensorflow-gpu: TensorFlow found no usable GPU/);
    return false;
  });
  if (gpu) assert.equal((tf.backend() as unknown as { isUsingGpuDevice: boolean }).isUsingGpuDevice, true);
});

test('an unknown backend name is a usage error naming the choices', async () => {
  await assert.rejects(selectBackend('gpu' as never), /unknown backend 'gpu'; expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu/);
});
