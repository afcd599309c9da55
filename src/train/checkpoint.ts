/**
 * The training-state checkpoint, RUN_DIR/checkpoint.safetensors: everything a resumed run needs to
 * continue exactly as an uninterrupted one (raw weights and buffers in the trainer's own layout,
 * Adam moments and step count, every EMA, the time, the loss statistics of the open interval and
 * the config). No RNG state beyond the seed is needed: every step reseeds from (seed, cur_nimg).
 * Written atomically (temporary file, then rename), so a crash leaves the previous checkpoint.
 * Not a snapshot: it carries no ema_* metadata, so reconstruct never mistakes it for one.
 */
import { InputFileError } from '../errors.js';
import { openSafetensors } from '../safetensors/reader.js';
import { writeSafetensorsFile, type TensorWithData } from '../safetensors/writer.js';
import type { AdamState } from './adam.js';
import type { LossStats } from './loss-stats.js';
import { encodeTensor, readFloatTensors } from './tensor-file.js';
import type { TrainConfig } from './train-config.js';

export const CHECKPOINT_FILE = 'checkpoint.safetensors';
const METADATA_KEY = 'ema_synth_checkpoint';
const VERSION = 1;

export interface CheckpointState {
  readonly config: TrainConfig;
  readonly curNimg: number;
  readonly params: ReadonlyMap<string, Float32Array>;
  readonly buffers: ReadonlyMap<string, Float32Array>;
  readonly adam: AdamState;
  readonly emas: ReadonlyArray<ReadonlyMap<string, Float32Array>>;
  readonly interval: LossStats & { startNimg: number };
}

const emaPrefix = (k: number): string => `ema${k}/`;

export async function writeCheckpoint(path: string, state: CheckpointState): Promise<void> {
  const tensors: TensorWithData[] = [];
  const add = (prefix: string, map: ReadonlyMap<string, Float32Array>): void => {
    for (const [name, data] of map) tensors.push(encodeTensor(prefix + name, [data.length], data));
  };
  add('param/', state.params);
  add('buffer/', state.buffers);
  add('adam_m/', state.adam.m);
  add('adam_v/', state.adam.v);
  state.emas.forEach((ema, k) => add(emaPrefix(k), ema));
  const info = {
    version: VERSION,
    curNimg: state.curNimg,
    adamStep: state.adam.step,
    config: state.config,
    rng: { algorithm: 'counter-lowbias32', seed: state.config.seed, keyedBy: ['seed', 'stream', 'cur_nimg'] },
    // JSON has no Infinity: an empty interval's min/max are stored as null.
    interval: { ...state.interval, min: finiteOrNull(state.interval.min), max: finiteOrNull(state.interval.max) },
  };
  await writeSafetensorsFile(path, tensors, { [METADATA_KEY]: JSON.stringify(info) }, { force: true });
}

function finiteOrNull(value: number): number | null {
  return Number.isFinite(value) ? value : null;
}

export async function readCheckpoint(path: string): Promise<CheckpointState> {
  const file = await openSafetensors(path);
  try {
    const text = file.metadata[METADATA_KEY];
    if (text === undefined) {
      throw new InputFileError(`${path}: not an ema-synth training checkpoint (no ${METADATA_KEY} metadata)`);
    }
    const info = JSON.parse(text) as {
      version: number; curNimg: number; adamStep: number; config: TrainConfig;
      interval: Omit<LossStats, 'min' | 'max'> & { min: number | null; max: number | null; startNimg: number };
    };
    if (info.version !== VERSION) {
      throw new InputFileError(`${path}: checkpoint version ${info.version}, this ema-synth reads version ${VERSION}`);
    }
    const tensors = await readFloatTensors(file);
    const group = (prefix: string): Map<string, Float32Array> => {
      const map = new Map<string, Float32Array>();
      for (const [name, t] of tensors) if (name.startsWith(prefix)) map.set(name.slice(prefix.length), t.data);
      return map;
    };
    return {
      config: info.config,
      curNimg: info.curNimg,
      params: group('param/'),
      buffers: group('buffer/'),
      adam: { step: info.adamStep, m: group('adam_m/'), v: group('adam_v/') },
      emas: info.config.emaSigmaRel.map((_, k) => group(emaPrefix(k))),
      interval: { ...info.interval, min: info.interval.min ?? Infinity, max: info.interval.max ?? -Infinity },
    };
  } finally {
    await file.close();
  }
}
