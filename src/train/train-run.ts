/**
 * `ema-synth train` behind the command line: prepares RUN_DIR, picks the backend, opens the data,
 * resolves (or, with --resume, reloads) the config, writes config.json and runs the loop.
 */
import { readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-output.js';
import { selectBackend, type BackendName } from './backend.js';
import { CHECKPOINT_FILE, readCheckpoint, type CheckpointState } from './checkpoint.js';
import type { ImageDataset } from './data/dataset.js';
import { openDataset } from './data/open-dataset.js';
import { runTraining, type TrainEvent } from './loop.js';
import { presetConfig } from './model/config.js';
import { startParallelGradients } from './model/parallel-gradients.js';
import { checkRunDir, prepareRunDir } from './run-dir.js';
import { resolveTrainConfig, runPreset, type TrainConfig, type TrainOverrides } from './train-config.js';

export interface TrainRunOptions extends Omit<TrainOverrides, 'data' | 'resolution' | 'channels'> {
  readonly data?: string;
  readonly resolution?: number;
  readonly out: string;
  readonly backend: BackendName;
  readonly resume: boolean;
  readonly saveRaw: boolean;
  readonly force: boolean;
  /** Gradient worker threads besides the main one; undefined: one per extra core on wasm, else 0. */
  readonly workers?: number;
  /** Native TensorFlow's intra-op threads (its own pool; worker threads are not used there). */
  readonly threads?: number;
}

export interface TrainSummary {
  readonly runDir: string;
  readonly backend: string;
  readonly workers: number;
  readonly config: TrainConfig;
  readonly curNimg: number;
  readonly interrupted: boolean;
  readonly lastLoss: number | undefined;
  readonly snapshotFiles: number;
}

/** Fields a resumed run may change; anything else must match the checkpoint. */
const RESUMABLE = new Set(['durationImages', 'snapshotEveryImages', 'statusEveryImages']);

export async function trainRun(
  options: TrainRunOptions, hooks: { onEvent?: (event: TrainEvent) => void; signal?: AbortSignal } = {},
): Promise<TrainSummary> {
  if (!options.resume && options.data === undefined) throw new UsageError('--data is required (a folder of images or builtin:shapes)');
  if (options.resume && options.force) throw new UsageError('--resume and --force contradict each other; pick one');
  const mode = { resume: options.resume, force: options.force };
  await checkRunDir(options.out, mode);
  const backend = await selectBackend(options.backend, { threads: options.threads });
  if (backend === 'tensorflow' && (options.workers ?? 0) > 0) {
    throw new UsageError(`--workers ${options.workers}: worker threads split the batch for wasm; native TensorFlow runs its own thread pool`, 'use --threads N to size it');
  }
  let config: TrainConfig;
  let resumeFrom: CheckpointState | undefined;
  let dataset: ImageDataset;
  if (options.resume) {
    resumeFrom = await readCheckpoint(join(options.out, CHECKPOINT_FILE));
    config = mergeForResume(resumeFrom.config, options, resumeFrom.curNimg);
    dataset = await openDataset(config.data, config.network.resolution);
  } else {
    const preset = options.preset ?? 'tiny';
    runPreset(preset);
    const builtinResolution = options.data!.startsWith('builtin:') ? options.resolution ?? presetConfig(preset).resolution : options.resolution;
    // A folder is recorded as an absolute path so --resume and evaluate work from any directory.
    const data = options.data!.startsWith('builtin:') ? options.data! : resolve(options.data!);
    dataset = await openDataset(data, builtinResolution);
    config = resolveTrainConfig({ ...options, preset, data, resolution: dataset.resolution, channels: dataset.channels });
  }
  if (dataset.channels !== config.network.channels || dataset.resolution !== config.network.resolution) {
    throw new UsageError(`--data ${config.data}: now ${dataset.resolution}x${dataset.resolution}x${dataset.channels}, the run was started with ${config.network.resolution}x${config.network.resolution}x${config.network.channels}`);
  }
  await prepareRunDir(options.out, mode);
  await writeFileAtomic(join(options.out, 'config.json'), JSON.stringify({ ...config, backend }, null, 2) + '\n', { force: true });
  const workers = options.workers ?? defaultWorkers(backend);
  const parallel = workers > 0
    ? await startParallelGradients(config.network, backend as BackendName, workers)
    : undefined;
  let result;
  try {
    result = await runTraining({
      runDir: options.out, config, dataset, resumeFrom, saveRaw: options.saveRaw,
      signal: hooks.signal, onEvent: hooks.onEvent, parallel,
    });
  } finally {
    await parallel?.close();
  }
  const snapshotFiles = (await readdir(join(options.out, 'snapshots')).catch(() => [])).length;
  return { runDir: options.out, backend, workers, config, ...result, snapshotFiles };
}

/**
 * wasm runs single-threaded under Node, so extra cores help only through worker threads (at most
 * 3: each replica costs memory and a parameter copy per step). The cpu backend is too slow for
 * splitting to matter and the native backends thread internally.
 */
export function defaultWorkers(backend: string): number {
  if (backend !== 'wasm') return 0;
  return Math.max(0, Math.min(3, availableParallelism() - 1));
}

function mergeForResume(saved: TrainConfig, options: TrainRunOptions, curNimg: number): TrainConfig {
  const given: Record<string, unknown> = { ...options };
  if (options.data !== undefined && !options.data.startsWith('builtin:')) given.data = resolve(options.data);
  const conflicts: string[] = [];
  for (const key of Object.keys(saved) as Array<keyof TrainConfig>) {
    if (RESUMABLE.has(key) || given[key] === undefined || key === 'network' || key === 'preset') continue;
    if (JSON.stringify(given[key]) !== JSON.stringify(saved[key])) conflicts.push(`${key} (run: ${JSON.stringify(saved[key])}, given: ${JSON.stringify(given[key])})`);
  }
  if (options.preset !== undefined && options.preset !== saved.preset) conflicts.push(`config (run: ${saved.preset}, given: ${options.preset})`);
  if (options.resolution !== undefined && options.resolution !== saved.network.resolution) conflicts.push(`resolution (run: ${saved.network.resolution}, given: ${options.resolution})`);
  for (const [key, value] of Object.entries(options.network ?? {})) {
    const current = (saved.network as unknown as Record<string, unknown>)[key];
    if (JSON.stringify(value) !== JSON.stringify(current)) conflicts.push(`network ${key} (run: ${JSON.stringify(current)}, given: ${JSON.stringify(value)})`);
  }
  if (conflicts.length > 0) {
    throw new UsageError(`--resume continues the run as configured; these differ: ${conflicts.join('; ')}`, 'only --duration, --snapshot-every and --status-every may change on resume');
  }
  const merged: TrainConfig = {
    ...saved,
    durationImages: options.durationImages ?? saved.durationImages,
    snapshotEveryImages: options.snapshotEveryImages ?? saved.snapshotEveryImages,
    statusEveryImages: options.statusEveryImages ?? saved.statusEveryImages,
  };
  for (const [flag, value] of [['--duration', merged.durationImages], ['--snapshot-every', merged.snapshotEveryImages], ['--status-every', merged.statusEveryImages]] as const) {
    if (!(Number.isSafeInteger(value) && value > 0 && value % saved.batch === 0)) {
      throw new UsageError(`${flag} ${value}: must be a positive multiple of the run's batch size ${saved.batch}`);
    }
  }
  if (merged.durationImages < curNimg) {
    throw new UsageError(`--duration ${merged.durationImages}: the run is already at ${curNimg} images`);
  }
  return merged;
}
