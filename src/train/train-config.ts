/**
 * Run presets and the resolved hyper-parameters of a training run. Pure: no tfjs, no I/O.
 *
 * Schedule defaults for short runs (MPUNET.md section 8): the official ramp-up (10 M images) and
 * decay horizon (70,000 steps of 2,048 images) are longer than a whole CPU run, so unless given,
 * both are scaled to the run's duration when the run starts and then frozen in config.json (so
 * extending `--duration` on resume does not change the schedule of the steps already taken):
 *   - rampupImages = 5% of the duration, rounded to whole batches (lr grows linearly from 0);
 *   - refBatches   = 10% of the run's steps (lr decays as 1/sqrt(t) afterwards, ending near
 *                    refLr / sqrt(10)).
 * The official values are `--rampup-images 10000000 --ref-batches 70000`.
 */
import { presetConfig, validateConfig, type NetworkConfig } from './model/config.js';
import { MAX_SIGMA_REL, sigmaRelToGamma } from '../phema/profile.js';
import { UsageError } from '../errors.js';

export interface TrainConfig {
  /** Run preset the run started from (`tiny`, `small16`). */
  readonly preset: string;
  /** The network, with resolution and channels taken from the data. */
  readonly network: NetworkConfig;
  /** `builtin:NAME` or a folder path. */
  readonly data: string;
  readonly batch: number;
  readonly durationImages: number;
  readonly snapshotEveryImages: number;
  readonly statusEveryImages: number;
  readonly emaSigmaRel: readonly number[];
  readonly refLr: number;
  readonly refBatches: number;
  readonly rampupImages: number;
  readonly pMean: number;
  readonly pStd: number;
  readonly sigmaData: number;
  readonly seed: number;
  /** Element type of the snapshot files; training itself is float32. */
  readonly snapshotDtype: 'F32' | 'F16';
}

/** What differs between run presets; everything else comes from the overrides or is derived. */
interface RunPreset {
  readonly batch: number;
  readonly durationImages: number;
  readonly snapshotEveryImages: number;
  readonly refLr: number;
  readonly pMean: number;
  readonly pStd: number;
}

export const RUN_PRESETS: Readonly<Record<string, RunPreset>> = {
  // Seconds per step on the cpu backend: for tests and first tries.
  tiny: { batch: 8, durationImages: 8192, snapshotEveryImages: 1024, refLr: 0.01, pMean: -0.8, pStd: 1.6 },
  // MPUNET.md section 8: 16x16, about 0.4 M parameters, 4,096 steps of 32 images.
  small16: { batch: 32, durationImages: 131072, snapshotEveryImages: 4096, refLr: 0.01, pMean: -0.8, pStd: 1.6 },
};

/** Everything a user may override; undefined keeps the preset's or the derived default. */
export interface TrainOverrides {
  readonly preset?: string;
  readonly data: string;
  /** From the data set (its size, or the --resolution it was resampled to). */
  readonly resolution: number;
  readonly channels: number;
  readonly batch?: number;
  readonly durationImages?: number;
  readonly snapshotEveryImages?: number;
  readonly statusEveryImages?: number;
  readonly emaSigmaRel?: readonly number[];
  readonly refLr?: number;
  readonly refBatches?: number;
  readonly rampupImages?: number;
  readonly pMean?: number;
  readonly pStd?: number;
  readonly seed?: number;
  readonly snapshotDtype?: 'F32' | 'F16';
  /** Network fields to override (e.g. modelChannels); validated with the network config. */
  readonly network?: Partial<NetworkConfig>;
}

export const DEFAULT_EMA_SIGMA_REL = [0.05, 0.1] as const;

/** The named run preset, or a UsageError listing the choices. */
export function runPreset(name: string): RunPreset {
  const preset = Object.prototype.hasOwnProperty.call(RUN_PRESETS, name) ? RUN_PRESETS[name] : undefined;
  if (preset === undefined) {
    throw new UsageError(`--config ${name}: unknown run preset, expected one of ${Object.keys(RUN_PRESETS).join(', ')}`);
  }
  return preset;
}

export function resolveTrainConfig(overrides: TrainOverrides): TrainConfig {
  const presetName = overrides.preset ?? 'tiny';
  const preset = runPreset(presetName);
  const network: NetworkConfig = {
    ...presetConfig(presetName),
    ...overrides.network,
    resolution: overrides.resolution,
    channels: overrides.channels,
  };
  validateConfig(network);
  const batch = overrides.batch ?? preset.batch;
  positiveInteger('--batch', batch);
  const durationImages = overrides.durationImages ?? preset.durationImages;
  multipleOf('--duration', durationImages, batch);
  // Default: the preset's interval rounded to whole batches (a multiple of 1024 keeps official names).
  const snapshotEveryImages = overrides.snapshotEveryImages
    ?? Math.min(batch * Math.max(1, Math.round(preset.snapshotEveryImages / batch)), durationImages);
  multipleOf('--snapshot-every', snapshotEveryImages, batch);
  const steps = durationImages / batch;
  const statusEveryImages = overrides.statusEveryImages ?? batch * Math.max(1, Math.floor(steps / 100));
  multipleOf('--status-every', statusEveryImages, batch);
  const emaSigmaRel = [...(overrides.emaSigmaRel ?? DEFAULT_EMA_SIGMA_REL)];
  if (emaSigmaRel.length === 0) throw new UsageError('--ema-sigma-rel needs at least one value');
  for (const s of emaSigmaRel) {
    if (!(s > 0 && s < MAX_SIGMA_REL)) {
      throw new UsageError(`--ema-sigma-rel ${s}: must be in (0, ${MAX_SIGMA_REL.toFixed(6)})`);
    }
    sigmaRelToGamma(s);
  }
  if (new Set(emaSigmaRel.map((s) => s.toFixed(3))).size !== emaSigmaRel.length) {
    throw new UsageError(`--ema-sigma-rel ${emaSigmaRel.join(',')}: values must differ in their first 3 decimals (they name the files)`);
  }
  const refLr = overrides.refLr ?? preset.refLr;
  if (!(refLr > 0 && Number.isFinite(refLr))) throw new UsageError(`--lr ${refLr}: must be a positive number`);
  const refBatches = overrides.refBatches ?? Math.max(1, Math.round(steps * 0.1));
  if (!(refBatches > 0)) throw new UsageError(`--ref-batches ${refBatches}: must be positive`);
  const rampupImages = overrides.rampupImages ?? batch * Math.round((steps * 0.05));
  if (!(rampupImages >= 0)) throw new UsageError(`--rampup-images ${rampupImages}: must be >= 0`);
  const pStd = overrides.pStd ?? preset.pStd;
  if (!(pStd >= 0)) throw new UsageError(`--p-std ${pStd}: must be >= 0`);
  const seed = overrides.seed ?? 0;
  if (!(Number.isSafeInteger(seed) && seed >= 0)) throw new UsageError(`--seed ${seed}: must be a non-negative integer`);
  return {
    preset: presetName,
    network,
    data: overrides.data,
    batch,
    durationImages,
    snapshotEveryImages,
    statusEveryImages,
    emaSigmaRel,
    refLr,
    refBatches,
    rampupImages,
    pMean: overrides.pMean ?? preset.pMean,
    pStd,
    sigmaData: 0.5,
    seed,
    snapshotDtype: overrides.snapshotDtype ?? 'F32',
  };
}

function positiveInteger(flag: string, value: number): void {
  if (!(Number.isSafeInteger(value) && value > 0)) throw new UsageError(`${flag} ${value}: must be a positive integer`);
}

function multipleOf(flag: string, value: number, batch: number): void {
  positiveInteger(flag, value);
  if (value % batch !== 0) {
    throw new UsageError(`${flag} ${value}: must be a multiple of the batch size ${batch}`);
  }
}

/**
 * Image counts with optional binary or decimal suffix: `8192`, `8Ki` (8,192), `2Mi`, `10k`, `1M`.
 */
export function parseImageCount(flag: string, text: string): number {
  const match = /^(\d+(?:\.\d+)?)(k|Ki|M|Mi)?$/.exec(text.trim());
  const factor: Record<string, number> = { k: 1e3, Ki: 1024, M: 1e6, Mi: 1024 * 1024 };
  const value = match === null ? NaN : Number(match[1]) * (match[2] === undefined ? 1 : factor[match[2]]);
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new UsageError(`${flag} ${text}: expected a positive whole number of images, e.g. 8192, 8Ki, 10k, 2Mi`);
  }
  return value;
}
