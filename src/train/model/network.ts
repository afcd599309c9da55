/**
 * The trainable EDM2 network (Precond + MP-UNet + learned log-variance) on TensorFlow.js: creation,
 * forced weight normalisation, denoising and the loss with gradients. Parameters are keyed by the
 * official PyTorch names but stored in tfjs layouts (conv HWIO, linear [in, out], attn_qkv grouped
 * q|k|v); snapshot-layout.ts converts to and from the official layout.
 */
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import { Architecture, buildArchitecture } from './architecture.js';
import { NetworkConfig } from './config.js';
import { InitRng } from './init-rng.js';
import { normalizedRows, outputChannels } from './effective-weights.js';
import { edm2Loss, preconditionedDenoiser, PrecondOptions } from './precond.js';
import { prepareWeights, WeightPass } from './weight-pass.js';

export interface Network {
  readonly config: NetworkConfig;
  readonly architecture: Architecture;
  /** Trainable, keyed by official names, in our layouts (see file comment). */
  readonly params: ReadonlyMap<string, tf.Variable>;
  /** MPFourier freqs/phases, official names. */
  readonly buffers: ReadonlyMap<string, tf.Tensor>;
  dispose(): void;
}

export interface StepOptions {
  /** One-hot [N, labelDim]; zeros when the model is conditional and none are given. */
  labels?: tf.Tensor2D;
  /** Seed for dropout masks (training only, used when config.dropout > 0). */
  dropoutSeed?: number;
}

/** Weights i.i.d. N(0,1), gains 0, Fourier frequencies 2pi N(0,1) and phases 2pi U[0,1). */
export function createNetwork(config: NetworkConfig, seed: number): Network {
  const architecture = buildArchitecture(config);
  const rng = new InitRng(seed);
  const params = new Map<string, tf.Variable>();
  for (const spec of architecture.params) {
    const size = spec.internalShape.reduce((a, b) => a * b, 1);
    const values = spec.kind === 'gain' ? new Float32Array(size) : rng.normals(size);
    // Inside tidy so the initial tensor does not keep a second reference to the variable's data.
    params.set(spec.name, tf.tidy(() => tf.variable(tf.tensor(values, spec.internalShape, 'float32'), true)));
  }
  const buffers = new Map<string, tf.Tensor>();
  for (const spec of architecture.buffers) {
    const values = new Float32Array(spec.length);
    const phases = spec.name.endsWith('.phases');
    for (let i = 0; i < spec.length; i++) values[i] = 2 * Math.PI * (phases ? rng.uniform() : rng.normal());
    buffers.set(spec.name, tf.keep(tf.tensor1d(values, 'float32')));
  }
  const net: Network = {
    config,
    architecture,
    params,
    buffers,
    dispose() {
      evalWeights.get(net)?.pass.dispose();
      evalWeights.delete(net);
      for (const v of params.values()) v.dispose();
      for (const b of buffers.values()) b.dispose();
    },
  };
  return net;
}

function lookup(map: ReadonlyMap<string, tf.Tensor>, kind: string): (name: string) => tf.Tensor {
  return (name) => {
    const t = map.get(name);
    if (t === undefined) throw new Error(`network has no ${kind} '${name}'`);
    return t;
  };
}

/** Training step 1 (MPUNET.md 1.6): W <- normalize(W) per output channel, in place, outside autodiff. */
export function forceNormalizeWeights(net: Network): void {
  for (const spec of net.architecture.params) {
    if (spec.kind === 'gain') continue;
    const v = net.params.get(spec.name) as tf.Variable;
    const normed = normalizedRows(v.dataSync() as Float32Array, outputChannels(spec));
    tf.tidy(() => v.assign(tf.tensor(normed, spec.internalShape, 'float32')));
  }
}

function precondOptions(net: Network, batch: number, options: StepOptions, training: boolean): PrecondOptions {
  let labels = options.labels;
  if (net.config.labelDim > 0 && labels === undefined) labels = tf.zeros([batch, net.config.labelDim]);
  if (net.config.labelDim === 0 && labels !== undefined) {
    throw new UsageError(`labels given to an unconditional network (labelDim 0)`);
  }
  const dropout = training && net.config.dropout > 0
    ? { rate: net.config.dropout, seed: options.dropoutSeed ?? 0 }
    : undefined;
  return { labels, dropout };
}

function checkImages(net: Network, x: tf.Tensor4D, sigma: tf.Tensor1D, what: string): void {
  const { resolution, channels } = net.config;
  const [n, h, w, c] = x.shape;
  if (h !== resolution || w !== resolution || c !== channels) {
    throw new UsageError(
      `${what} has shape [${x.shape.join(', ')}], expected [N, ${resolution}, ${resolution}, ${channels}] (NHWC)`,
    );
  }
  if (sigma.shape[0] !== n) throw new UsageError(`sigma has ${sigma.shape[0]} entries, expected ${n} (batch size)`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The sampler and the evaluator call denoise many times with unchanged weights, so the last
 * effective weights are kept per network until a parameter changes (assign() gives a variable a
 * new dataId) or the network is disposed.
 */
const evalWeights = new WeakMap<Network, { ids: object[]; pass: WeightPass }>();

function cachedWeights(net: Network): WeightPass {
  const ids = [...net.params.values()].map((v) => v.dataId);
  const cached = evalWeights.get(net);
  const fresh = cached !== undefined && cached.ids.every((id, i) => id === ids[i])
    && [...cached.pass.tensors.values()].every((t) => !t.isDisposed);
  if (fresh) return cached.pass;
  cached?.pass.dispose();
  const pass = prepareWeights(net.architecture, net.params);
  // Kept: a caller's enclosing tf.tidy must not dispose the cache.
  for (const t of pass.tensors.values()) tf.keep(t);
  evalWeights.set(net, { ids, pass });
  return pass;
}

/** D(x; sigma) in eval mode (no forced normalisation, no dropout), NHWC. */
export function denoise(net: Network, x: tf.Tensor4D, sigma: tf.Tensor1D, options: StepOptions = {}): tf.Tensor4D {
  checkImages(net, x, sigma, 'x');
  const weights = cachedWeights(net);
  return tf.tidy(() => preconditionedDenoiser(
    net.architecture, lookup(weights.tensors, 'weight'), lookup(net.buffers, 'buffer'), x, sigma,
    precondOptions(net, x.shape[0], options, false),
  ));
}

/**
 * The EDM2 loss for clean images y, per-image noise levels sigma and unit normal noise, and its
 * gradient with respect to every parameter (our layouts, same keys as net.params). Does not apply
 * forceNormalizeWeights; the training loop calls it first. The caller disposes the results.
 */
export function lossAndGradients(
  net: Network, y: tf.Tensor4D, sigma: tf.Tensor1D, noise: tf.Tensor4D, options: StepOptions = {},
): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
  return asTensors(net, lossAndGradientArrays(net, y, sigma, noise, options));
}

/** A step's plain results (lossAndGradientArrays) as tfjs tensors, gradients in our parameter layout. */
export function asTensors(net: Network, step: { loss: number; grads: ReadonlyMap<string, Float32Array> }): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
  const grads = new Map<string, tf.Tensor>();
  for (const spec of net.architecture.params) {
    grads.set(spec.name, tf.tensor(step.grads.get(spec.name) as Float32Array, spec.internalShape, 'float32'));
  }
  return { loss: tf.scalar(step.loss), grads };
}

/** Throws a UsageError naming the input whose shape does not fit the network or the batch. */
export function checkStepInputs(net: Network, y: tf.Tensor4D, sigma: tf.Tensor1D, noise: tf.Tensor4D): void {
  checkImages(net, y, sigma, 'y');
  if (!sameShape(noise.shape, y.shape)) {
    throw new UsageError(`noise has shape [${noise.shape.join(', ')}], expected the shape of y [${y.shape.join(', ')}]`);
  }
}

/**
 * lossAndGradients with plain results: the gradients are computed in JS from dL/dW_hat anyway
 * (weight-pass.ts), and the optimizer and the worker threads want them as arrays, so the training
 * loop skips a round trip through tfjs tensors (about 70 uploads and read-backs a step).
 */
export function lossAndGradientArrays(
  net: Network, y: tf.Tensor4D, sigma: tf.Tensor1D, noise: tf.Tensor4D, options: StepOptions = {},
): { loss: number; grads: Map<string, Float32Array> } {
  checkStepInputs(net, y, sigma, noise);
  const weights = prepareWeights(net.architecture, net.params);
  try {
    const { loss, dHat } = lossAndEffectiveGradients(net, weights.tensors, y, sigma, noise, options);
    return { loss, grads: weights.backward(dHat) };
  } finally {
    weights.dispose();
  }
}

/**
 * The loss and its gradient with respect to the effective weights (dL/dW_hat, keyed by weight
 * name) for given effective-weight tensors: the tfjs part of a step. A worker thread runs only this.
 */
export function lossAndEffectiveGradients(
  net: Network, effective: ReadonlyMap<string, tf.Tensor>, y: tf.Tensor4D, sigma: tf.Tensor1D, noise: tf.Tensor4D,
  options: StepOptions = {},
): { loss: number; dHat: Map<string, Float32Array> } {
  const names = [...effective.keys()];
  const { loss, dHat } = tf.tidy(() => {
    const opts = precondOptions(net, y.shape[0], options, true);
    const f = (...weights: tf.Tensor[]): tf.Scalar => {
      const byName = new Map(names.map((n, i) => [n, weights[i]]));
      return edm2Loss(net.architecture, lookup(byName, 'weight'), lookup(net.buffers, 'buffer'), y, sigma, noise, opts);
    };
    const { value, grads } = tf.valueAndGrads(f)(names.map((n) => effective.get(n) as tf.Tensor));
    return { loss: value, dHat: grads };
  });
  const dHatData = new Map(names.map((n, i) => [n, dHat[i].dataSync() as Float32Array]));
  const lossValue = loss.dataSync()[0];
  tf.dispose([loss, ...dHat]);
  return { loss: lossValue, dHat: dHatData };
}

export function parameterCount(net: Network): number {
  let total = 0;
  for (const v of net.params.values()) total += v.size;
  return total;
}
