/**
 * Worker thread of parallel-gradients.ts: holds a replica of the network and computes the loss and
 * gradients of its share of each batch with the parameters the main thread sends.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { BackendName, selectBackend } from '../backend.js';
import { NetworkConfig } from './config.js';
import { flattenGradients, loadFlatBuffers, splitFlat } from './flat-params.js';
import { createNetwork, lossAndGradientArrays, Network } from './network.js';

export interface WorkerInit { type: 'init'; config: NetworkConfig; backend: BackendName }
export interface WorkerStep {
  type: 'step';
  params: Float32Array;
  buffers: Float32Array;
  /** NHWC images of this share: [n, r, r, c]. */
  y: Float32Array;
  noise: Float32Array;
  sigma: Float32Array;
  labels?: Float32Array;
  dropoutSeed?: number;
}
export type WorkerReply =
  | { type: 'ready' }
  | { type: 'result'; loss: number; grads: Float32Array }
  | { type: 'error'; message: string; stack?: string };

let net: Network | undefined;

function step(msg: WorkerStep): WorkerReply {
  if (net === undefined) throw new Error('gradient worker used before init');
  const { resolution: r, channels: c, labelDim } = net.config;
  const n = msg.sigma.length;
  loadFlatBuffers(net, msg.buffers);
  const y = tf.tensor4d(msg.y, [n, r, r, c]);
  const noise = tf.tensor4d(msg.noise, [n, r, r, c]);
  const sigma = tf.tensor1d(msg.sigma);
  const labels = msg.labels === undefined ? undefined : tf.tensor2d(msg.labels, [n, labelDim]);
  try {
    const { loss, grads } = lossAndGradientArrays(net, y, sigma, noise, {
      labels, dropoutSeed: msg.dropoutSeed, paramValues: splitFlat(net, msg.params),
    });
    return { type: 'result', loss, grads: flattenGradients(net, grads) };
  } finally {
    tf.dispose([y, noise, sigma, ...(labels ? [labels] : [])]);
  }
}

const port = parentPort;
if (port !== null) {
  port.on('message', (msg: WorkerInit | WorkerStep) => {
    void (async () => {
      try {
        if (msg.type === 'init') {
          await selectBackend(msg.backend);
          net = createNetwork(msg.config, 0);
          port.postMessage({ type: 'ready' } satisfies WorkerReply);
        } else {
          const reply = step(msg);
          port.postMessage(reply, reply.type === 'result' ? [reply.grads.buffer as ArrayBuffer] : []);
        }
      } catch (error) {
        const e = error as Error;
        port.postMessage({ type: 'error', message: e.message, stack: e.stack } satisfies WorkerReply);
      }
    })();
  });
}
