/**
 * `ema-synth evaluate` and `sweep --eval builtin`: the built-in validation metric of one snapshot
 * or reconstructed file. The data set defaults to the one the run trained on (metadata).
 */
import { UsageError } from '../errors.js';
import { selectBackend, type BackendName } from './backend.js';
import { openDataset } from './data/open-dataset.js';
import { evaluateDenoising, type EvaluationResult } from './evaluate.js';
import { loadNetworkFile } from './load-network.js';
import { DATA_METADATA_KEY } from './snapshots.js';

export interface EvaluateFileOptions {
  readonly data?: string;
  readonly count?: number;
  readonly seed?: number;
  readonly sigmas?: readonly number[];
  readonly batch?: number;
  readonly config?: string;
  /** Skip backend selection when the caller already chose one. */
  readonly backend?: BackendName;
  /** Native TensorFlow's intra-op threads (with backend). */
  readonly threads?: number;
}

export interface EvaluateFileResult extends EvaluationResult {
  readonly checkpoint: string;
  readonly data: string;
  readonly seed: number;
}

export async function evaluateCheckpointFile(checkpoint: string, options: EvaluateFileOptions = {}): Promise<EvaluateFileResult> {
  if (options.backend !== undefined) await selectBackend(options.backend, { threads: options.threads });
  const { net, metadata } = await loadNetworkFile(checkpoint, options.config);
  try {
    const data = options.data ?? metadata[DATA_METADATA_KEY];
    if (data === undefined) {
      throw new UsageError(`${checkpoint}: no --data given and the file does not name its training data (${DATA_METADATA_KEY})`, 'pass --data builtin:shapes or a folder');
    }
    const dataset = await openDataset(data, net.config.resolution);
    if (dataset.channels !== net.config.channels) {
      throw new UsageError(`--data ${data}: images have ${dataset.channels} channel(s), the network ${checkpoint} expects ${net.config.channels}`);
    }
    const seed = options.seed ?? 0;
    let result: EvaluationResult;
    try {
      result = evaluateDenoising(net, dataset, { ...options, seed });
    } catch (error) {
      if (error instanceof RangeError) throw new UsageError(`--data ${data}: ${error.message}`);
      throw error;
    }
    return { checkpoint, data, seed, ...result };
  } finally {
    net.dispose();
  }
}
