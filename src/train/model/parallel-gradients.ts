/**
 * Data-parallel loss and gradients over worker threads. The wasm backend runs single-threaded under
 * Node, so on a multi-core machine the batch is split: the calling thread computes the first share
 * while each worker computes another with a replica of the network. Each step the workers get the
 * effective weights (one array, about 1.6 MB for small16) and return dL/dW_hat of their share; the
 * shares are averaged weighted by size and the chain rule to the stored parameters, which is linear
 * in dL/dW_hat, runs once here (it and the weight normalisation are not repeated per thread). The result
 * equals lossAndGradients on the whole batch up to float32 summation order.
 */
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../backend.js';
import type { NetworkConfig } from './config.js';
import { flattenBuffers } from './flat-params.js';
import type { WorkerInit, WorkerReply, WorkerStep } from './gradient-worker.js';
import { asTensors, checkStepInputs, lossAndEffectiveGradients, Network, StepOptions } from './network.js';
import { flattenEffective, prepareWeights, splitEffective } from './weight-pass.js';

export interface ParallelGradients {
  /** Worker threads besides the calling thread. */
  readonly workers: number;
  lossAndGradients(
    net: Network, y: tf.Tensor4D, sigma: tf.Tensor1D, noise: tf.Tensor4D, options?: StepOptions,
  ): Promise<{ loss: tf.Scalar; grads: Map<string, tf.Tensor> }>;
  /** The same with plain results (see network.ts lossAndGradientArrays); grads are views of one array. */
  gradientArrays(
    net: Network, y: tf.Tensor4D, sigma: tf.Tensor1D, noise: tf.Tensor4D, options?: StepOptions,
  ): Promise<{ loss: number; grads: Map<string, Float32Array> }>;
  close(): Promise<void>;
}

interface Pending { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }

class WorkerHandle {
  private pending: Pending | undefined;
  constructor(readonly worker: Worker) {
    worker.on('message', (reply: WorkerReply) => {
      const p = this.pending;
      this.pending = undefined;
      if (p === undefined) return;
      if (reply.type === 'error') p.reject(new Error(`gradient worker: ${reply.message}`));
      else p.resolve(reply);
    });
    worker.on('error', (error) => {
      const p = this.pending;
      this.pending = undefined;
      p?.reject(error);
    });
  }

  request(msg: WorkerInit | WorkerStep, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(msg, transfer);
    });
  }
}

/** Share sizes: as equal as possible, the first shares one larger. */
export function splitBatch(batch: number, parts: number): number[] {
  const base = Math.floor(batch / parts);
  return Array.from({ length: parts }, (_, i) => base + (i < batch % parts ? 1 : 0));
}

function spawnWorker(): Worker {
  // From dist/ after compilation the worker is plain JS; from src/ (tests, tsx) it is TypeScript and
  // the worker needs the tsx loader, which worker threads do not inherit from --import.
  const fromSource = import.meta.url.endsWith('.ts');
  const url = new URL(`./gradient-worker${fromSource ? '.ts' : '.js'}`, import.meta.url);
  if (!fromSource) return new Worker(url);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((api) => api.register())`
    + `.then(() => import(${JSON.stringify(url.href)}))`;
  return new Worker(bootstrap, { eval: true });
}

export async function startParallelGradients(
  config: NetworkConfig, backend: BackendName, workers = 1,
): Promise<ParallelGradients> {
  const handles = Array.from({ length: workers }, () => new WorkerHandle(spawnWorker()));
  try {
    await Promise.all(handles.map((h) => h.request({ type: 'init', config, backend })));
  } catch (error) {
    await Promise.all(handles.map((h) => h.worker.terminate()));
    throw error;
  }
  const gradientArrays: ParallelGradients['gradientArrays'] = async (net, y, sigma, noise, options = {}) => {
    checkStepInputs(net, y, sigma, noise);
    const n = y.shape[0];
    const shares = splitBatch(n, workers + 1);
    const perImage = y.size / n;
    const yData = y.dataSync() as Float32Array;
    const noiseData = noise.dataSync() as Float32Array;
    const sigmaData = sigma.dataSync() as Float32Array;
    const labelData = options.labels?.dataSync() as Float32Array | undefined;
    const labelDim = net.config.labelDim;
    const buffers = flattenBuffers(net);
    // The effective weights are computed once here; the workers return dL/dW_hat for their shares,
    // and the chain rule to the stored parameters (linear in dL/dW_hat) runs once on the combination.
    const weights = prepareWeights(net.architecture, net.params);
    try {
      const effective = flattenEffective(net.architecture, weights.arrays);
      const replies: Array<Promise<WorkerReply>> = [];
      let start = shares[0];
      handles.forEach((h, i) => {
        const count = shares[i + 1];
        if (count === 0) return;
        const end = start + count;
        replies.push(h.request({
          type: 'step', effective, buffers,
          y: yData.slice(start * perImage, end * perImage),
          noise: noiseData.slice(start * perImage, end * perImage),
          sigma: sigmaData.slice(start, end),
          labels: labelData?.slice(start * labelDim, end * labelDim),
          dropoutSeed: options.dropoutSeed === undefined ? undefined : options.dropoutSeed + 1000003 * (i + 1),
        }));
        start = end;
      });
      // Our share, computed while the workers run.
      const k = shares[0];
      const inputs = [
        tf.slice(y, [0, 0, 0, 0], [k, -1, -1, -1]), tf.slice(sigma, [0], [k]), tf.slice(noise, [0, 0, 0, 0], [k, -1, -1, -1]),
        ...(options.labels === undefined ? [] : [tf.slice(options.labels, [0, 0], [k, -1])]),
      ];
      let own: { loss: number; dHat: Map<string, Float32Array> };
      try {
        own = lossAndEffectiveGradients(net, weights.tensors, inputs[0] as tf.Tensor4D, inputs[1] as tf.Tensor1D, inputs[2] as tf.Tensor4D, {
          labels: inputs[3] as tf.Tensor2D | undefined, dropoutSeed: options.dropoutSeed,
        });
      } finally {
        tf.dispose(inputs);
      }
      // Weighted by share size: sum = (k * own + sum_i count_i * worker_i) / n.
      const sum = flattenEffective(net.architecture, own.dHat);
      let loss = own.loss * k;
      for (let j = 0; j < sum.length; j++) sum[j] *= k;
      const counts = shares.slice(1).filter((count) => count > 0);
      for (const [i, promise] of replies.entries()) {
        const reply = await promise;
        if (reply.type !== 'result') throw new Error(`gradient worker ${i}: unexpected reply ${reply.type}`);
        loss += reply.loss * counts[i];
        for (let j = 0; j < sum.length; j++) sum[j] += reply.dHat[j] * counts[i];
      }
      for (let j = 0; j < sum.length; j++) sum[j] /= n;
      return { loss: loss / n, grads: weights.backward(splitEffective(net.architecture, sum)) };
    } finally {
      weights.dispose();
    }
  };
  return {
    workers,
    gradientArrays,
    async lossAndGradients(net, y, sigma, noise, options = {}) {
      return asTensors(net, await gradientArrays(net, y, sigma, noise, options));
    },
    async close() {
      await Promise.all(handles.map((h) => h.worker.terminate()));
    },
  };
}
