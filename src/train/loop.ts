/**
 * The training loop (MPUNET.md sections 4-5): for each batch, forced weight normalisation, the EDM2
 * loss and its gradients, an Adam step at the scheduled learning rate, then both EMA updates with
 * dt = the batch's images. Snapshots (and a checkpoint) every `snapshotEveryImages`, loss statistics
 * to log.jsonl every `statusEveryImages`. Never prints: progress goes out as events.
 *
 * All randomness of the step that starts at cur_nimg (batch order, noise levels, noise) is drawn
 * from streams keyed by (seed, purpose, cur_nimg), so a run resumed from a checkpoint takes
 * exactly the steps an uninterrupted run takes.
 */
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputFileError } from '../errors.js';
import { Adam } from './adam.js';
import { CHECKPOINT_FILE, writeCheckpoint, type CheckpointState } from './checkpoint.js';
import { BatchSampler } from './data/batch.js';
import { imageSize, type ImageDataset } from './data/dataset.js';
import { EmaTracker } from './ema-tracker.js';
import { addLoss, emptyLossStats, summarizeLoss, type LossStats } from './loss-stats.js';
import { learningRate } from './lr-schedule.js';
import { createNetwork, forceNormalizeWeights, lossAndGradientArrays, parameterCount } from './model/network.js';
import { CounterRng, deriveKey, RngStream } from './rng.js';
import { writeSnapshots } from './snapshots.js';
import type { ParallelGradients } from './model/parallel-gradients.js';
import type { TrainConfig } from './train-config.js';

export type TrainEvent =
  | { type: 'start'; curNimg: number; durationImages: number; parameters: number; resumed: boolean }
  | { type: 'step'; step: number; curNimg: number; loss: number; lr: number; imagesPerSecond: number }
  | { type: 'status'; nimg: number; step: number; loss: ReturnType<typeof summarizeLoss>; lr: number; imagesPerSecond: number }
  | { type: 'snapshot'; nimg: number; files: string[] }
  | { type: 'checkpoint'; nimg: number; path: string }
  | { type: 'done'; nimg: number; interrupted: boolean };

export interface TrainLoopOptions {
  readonly runDir: string;
  readonly config: TrainConfig;
  readonly dataset: ImageDataset;
  readonly resumeFrom?: CheckpointState;
  readonly saveRaw?: boolean;
  /** Checked between steps: when aborted, the loop checkpoints and returns. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: TrainEvent) => void;
  /** Splits each batch over worker threads (see model/parallel-gradients.ts); the caller closes it. */
  readonly parallel?: ParallelGradients;
  /** Milliseconds; injectable for tests. */
  readonly clock?: () => number;
}

export interface TrainResult {
  readonly curNimg: number;
  readonly interrupted: boolean;
  readonly lastLoss: number | undefined;
}

export async function runTraining(options: TrainLoopOptions): Promise<TrainResult> {
  const { runDir, config, dataset, resumeFrom } = options;
  const emit = options.onEvent ?? (() => undefined);
  const clock = options.clock ?? (() => performance.now());
  const net = createNetwork(config.network, config.seed);
  const adam = new Adam(net.params);
  const emas = new EmaTracker(net.params, config.emaSigmaRel);
  try {
    let curNimg = 0;
    let interval: LossStats & { startNimg: number } = { ...emptyLossStats(), startNimg: 0 };
    if (resumeFrom !== undefined) {
      loadInto(net.params, resumeFrom.params, 'parameter');
      loadInto(net.buffers as ReadonlyMap<string, tf.Tensor>, resumeFrom.buffers, 'buffer');
      adam.importState(resumeFrom.adam);
      emas.importState(resumeFrom.emas);
      curNimg = resumeFrom.curNimg;
      interval = { ...resumeFrom.interval };
    }
    emit({ type: 'start', curNimg, durationImages: config.durationImages, parameters: parameterCount(net), resumed: resumeFrom !== undefined });
    const sampler = new BatchSampler(dataset, config.seed);
    const { batch, network } = config;
    const shape: [number, number, number, number] = [batch, network.resolution, network.resolution, network.channels];
    const perImage = imageSize(dataset);
    const checkpointPath = join(runDir, CHECKPOINT_FILE);
    let lastCheckpoint = curNimg;
    let lastLoss: number | undefined;
    let intervalStart = clock();
    let rateStartNimg = curNimg; // a resumed interval's earlier images were timed by another process
    const checkpoint = async (): Promise<void> => {
      await writeCheckpoint(checkpointPath, {
        config, curNimg, params: readAll(net.params), buffers: readAll(net.buffers),
        adam: adam.exportState(), emas: emas.exportState(), interval,
      });
      lastCheckpoint = curNimg;
      emit({ type: 'checkpoint', nimg: curNimg, path: checkpointPath });
    };
    while (curNimg < config.durationImages) {
      if (options.signal?.aborted) {
        if (lastCheckpoint !== curNimg) await checkpoint();
        emit({ type: 'done', nimg: curNimg, interrupted: true });
        return { curNimg, interrupted: true, lastLoss };
      }
      const stepStart = clock();
      const lr = learningRate(curNimg, config);
      const images = sampler.batch(curNimg, batch);
      const sigmaRng = new CounterRng([config.seed, RngStream.sigma, curNimg]);
      const sigma = new Float32Array(batch);
      for (let i = 0; i < batch; i++) sigma[i] = Math.exp(config.pMean + config.pStd * sigmaRng.normal());
      const noise = new CounterRng([config.seed, RngStream.noise, curNimg]).fillNormal(new Float32Array(batch * perImage));
      forceNormalizeWeights(net);
      const y = tf.tensor4d(images, shape);
      const s = tf.tensor1d(sigma);
      const n = tf.tensor4d(noise, shape);
      const stepOptions = { dropoutSeed: deriveKey([config.seed, curNimg])[0] };
      const { loss, grads } = options.parallel === undefined
        ? lossAndGradientArrays(net, y, s, n, stepOptions)
        : await options.parallel.gradientArrays(net, y, s, n, stepOptions);
      tf.dispose([y, s, n]);
      adam.apply(net.params, grads, lr);
      // Logged per element (the objective is summed over C*H*W per image), like the official 'Loss/loss'.
      const lossValue = loss / perImage;
      curNimg += batch;
      emas.update(net.params, curNimg, batch);
      lastLoss = lossValue;
      addLoss(interval, lossValue);
      const now = clock();
      emit({ type: 'step', step: curNimg / batch, curNimg, loss: lossValue, lr, imagesPerSecond: (batch * 1000) / Math.max(now - stepStart, 1e-3) });
      if (curNimg % config.statusEveryImages === 0 || curNimg === config.durationImages) {
        const imagesPerSecond = ((curNimg - rateStartNimg) * 1000) / Math.max(now - intervalStart, 1e-3);
        const summary = summarizeLoss(interval);
        await appendFile(join(runDir, 'log.jsonl'), JSON.stringify({
          nimg: curNimg, kimg: curNimg / 1000, step: curNimg / batch, loss_mean: summary.mean, loss_std: summary.std,
          loss_min: summary.min, loss_max: summary.max, steps: summary.steps, lr, images_per_second: imagesPerSecond,
        }) + '\n');
        emit({ type: 'status', nimg: curNimg, step: curNimg / batch, loss: summary, lr, imagesPerSecond });
        interval = { ...emptyLossStats(), startNimg: curNimg };
        intervalStart = now;
        rateStartNimg = curNimg;
      }
      if (curNimg % config.snapshotEveryImages === 0) {
        // force: a run resumed after a crash between snapshot and checkpoint rewrites identical files.
        const written = await writeSnapshots(runDir, config, net, emas, curNimg, { saveRaw: options.saveRaw ?? false, force: true });
        emit({ type: 'snapshot', nimg: curNimg, files: written.raw === undefined ? written.snapshots : [...written.snapshots, written.raw] });
        await checkpoint();
      }
    }
    if (lastCheckpoint !== curNimg) await checkpoint();
    emit({ type: 'done', nimg: curNimg, interrupted: false });
    return { curNimg, interrupted: false, lastLoss };
  } finally {
    emas.dispose();
    adam.dispose();
    net.dispose();
  }
}

function readAll(map: ReadonlyMap<string, tf.Tensor>): Map<string, Float32Array> {
  return new Map([...map].map(([name, t]) => [name, Float32Array.from(t.dataSync() as Float32Array)]));
}

/** Restores checkpointed values into the network's variables (parameters) or buffer tensors. */
function loadInto(target: ReadonlyMap<string, tf.Tensor>, source: ReadonlyMap<string, Float32Array>, kind: string): void {
  const writable = target as Map<string, tf.Tensor>;
  for (const [name, tensor] of target) {
    const data = source.get(name);
    if (data === undefined || data.length !== tensor.size) {
      throw new InputFileError(`checkpoint ${kind} '${name}' is missing or has ${data?.length ?? 0} values, expected ${tensor.size}`);
    }
    if (tensor instanceof tf.Variable) tf.tidy(() => tensor.assign(tf.tensor(data, tensor.shape, 'float32')));
    else {
      writable.set(name, tf.keep(tf.tensor(data, tensor.shape, 'float32')));
      tensor.dispose();
    }
  }
}

