/**
 * `ema-synth sample`: loads a snapshot (or reconstructed file), draws `count` images with the EDM
 * Heun sampler and writes them as one PNG or JPEG grid. Image i's starting noise depends only on
 * (seed, i), so a grid's images do not change with --batch.
 */
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic, checkOutputAvailable } from '../io/atomic-output.js';
import { selectBackend, type BackendName } from './backend.js';
import { defaultGap, defaultScale, layoutGrid } from './image-grid.js';
import { encodeGrid } from './encode-grid.js';
import type { ImageFormat } from '../io/output-format.js';
import { loadNetworkFile } from './load-network.js';
import { denoise } from './model/network.js';
import { CounterRng, RngStream } from './rng.js';
import { heunSample, noiseSchedule, SAMPLER_DEFAULTS } from './sampler.js';

export interface SampleOptions {
  readonly checkpoint: string;
  readonly out: string;
  /** What --out's extension names (io/output-format.ts). */
  readonly format: ImageFormat;
  readonly count: number;
  readonly steps: number;
  readonly seed: number;
  readonly batch: number;
  readonly scale?: number;
  readonly config?: string;
  readonly backend: BackendName;
  /** Native TensorFlow's intra-op threads. */
  readonly threads?: number;
  readonly force: boolean;
}

export async function sampleRun(options: SampleOptions): Promise<{ out: string; images: number; width: number; height: number; backend: string }> {
  await checkOutputAvailable(options.out, options.force);
  const backend = await selectBackend(options.backend, { threads: options.threads });
  const { net } = await loadNetworkFile(options.checkpoint, options.config);
  try {
    const { resolution, channels } = net.config;
    const size = resolution * resolution * channels;
    const schedule = noiseSchedule({ ...SAMPLER_DEFAULTS, steps: options.steps });
    const images = new Float32Array(options.count * size);
    for (let start = 0; start < options.count; start += options.batch) {
      const n = Math.min(options.batch, options.count - start);
      const noiseData = new Float32Array(n * size);
      for (let j = 0; j < n; j++) {
        const rng = new CounterRng([options.seed, RngStream.samplerNoise, start + j]);
        for (let e = 0; e < size; e++) noiseData[j * size + e] = rng.normal();
      }
      const noise = tf.tensor4d(noiseData, [n, resolution, resolution, channels]);
      const result = heunSample((x, sigma) => {
        const sigmas = tf.fill([n], sigma) as tf.Tensor1D;
        const denoised = denoise(net, x, sigmas);
        sigmas.dispose();
        return denoised;
      }, noise, schedule);
      images.set(result.dataSync() as Float32Array, start * size);
      tf.dispose([noise, result]);
    }
    const scale = options.scale ?? defaultScale(options.count, resolution);
    const grid = layoutGrid(images, options.count, resolution, channels, scale, defaultGap(resolution * scale));
    await writeFileAtomic(options.out, encodeGrid(grid, options.format), { force: options.force });
    return { out: options.out, images: options.count, width: grid.width, height: grid.height, backend };
  } finally {
    net.dispose();
  }
}
