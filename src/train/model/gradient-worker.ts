/**
 * Worker thread of parallel-gradients.ts: holds a replica of the network (for its buffers and
 * architecture) and computes, for its share of each batch, the loss and the gradient with respect
 * to the effective weights the main thread sends. The chain rule back to the stored parameters is
 * linear in that gradient, so the main thread applies it once to the combined shares.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { BackendName, selectBackend } from '../backend.js';
import { NetworkConfig } from './config.js';
import { loadFlatBuffers } from './flat-params.js';
import { createNetwork, lossAndEffectiveGradients, Network } from './network.js';
import { effectiveTensors, flattenEffective } from './weight-pass.js';

export interface WorkerInit { type: 'init'; config: NetworkConfig; backend: BackendName }
export interface WorkerStep {
  type: 'step';
  /** Effective weights, flat in weightSpecs order. */
  effective: Float32Array;
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
  /** dHat: dL/dW_hat of this share, flat in weightSpecs order. */
  | { type: 'result'; loss: number; dHat: Float32Array }
  | { type: 'error'; message: string; stack?: string };

let net: Network | undefined;

function step(msg: WorkerStep): WorkerReply {
  if (net === undefined) throw new Error('gradient worker used before init');
  const { resolution: r, channels: c, labelDim } = net.config;
  const n = msg.sigma.length;
  loadFlatBuffers(net, msg.buffers);
  const effective = effectiveTensors(net.architecture, msg.effective);
  const y = tf.tensor4d(msg.y, [n, r, r, c]);
  const noise = tf.tensor4d(msg.noise, [n, r, r, c]);
  const sigma = tf.tensor1d(msg.sigma);
  const labels = msg.labels === undefined ? undefined : tf.tensor2d(msg.labels, [n, labelDim]);
  try {
    const { loss, dHat } = lossAndEffectiveGradients(net, effective, y, sigma, noise, { labels, dropoutSeed: msg.dropoutSeed });
    return { type: 'result', loss, dHat: flattenEffective(net.architecture, dHat) };
  } finally {
    tf.dispose([y, noise, sigma, ...(labels ? [labels] : []), ...effective.values()]);
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
          port.postMessage(reply, reply.type === 'result' ? [reply.dHat.buffer as ArrayBuffer] : []);
        }
      } catch (error) {
        const e = error as Error;
        port.postMessage({ type: 'error', message: e.message, stack: e.stack } satisfies WorkerReply);
      }
    })();
  });
}
