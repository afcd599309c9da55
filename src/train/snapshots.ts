/**
 * Writes the post-hoc EMA snapshots of a run (FORMAT.md): at each snapshot time, one safetensors
 * file per tracked profile in RUN_DIR/snapshots/ (official tensor names and layouts, parameters
 * plus the Fourier buffers copied from the live network), and with --save-raw the raw weights in
 * RUN_DIR/raw/. Metadata says which network wrote them, so `sample` and `evaluate` need no flags.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { writeSafetensorsFile } from '../safetensors/writer.js';
import type { EmaTracker } from './ema-tracker.js';
import type { Network } from './model/network.js';
import { exportTensors } from './model/snapshot-layout.js';
import { rawFileName, snapshotFileName } from './snapshot-names.js';
import { encodeTensor } from './tensor-file.js';
import type { TrainConfig } from './train-config.js';

/** Metadata keys this tool adds beside FORMAT.md's (kept by reconstruct, read by sample/evaluate). */
export const NETWORK_METADATA_KEY = 'ema_synth_network';
export const DATA_METADATA_KEY = 'ema_synth_data';

export function runMetadata(config: TrainConfig): Record<string, string> {
  return {
    [NETWORK_METADATA_KEY]: JSON.stringify(config.network),
    [DATA_METADATA_KEY]: config.data,
  };
}

function networkWith(net: Network, params: ReadonlyMap<string, tf.Variable>): Network {
  return { ...net, params };
}

export interface WrittenSnapshots {
  readonly snapshots: string[];
  readonly raw?: string;
}

export async function writeSnapshots(
  runDir: string, config: TrainConfig, net: Network, emas: EmaTracker, nimg: number,
  options: { saveRaw: boolean; force: boolean },
): Promise<WrittenSnapshots> {
  const folder = join(runDir, 'snapshots');
  await mkdir(folder, { recursive: true });
  const base = runMetadata(config);
  const snapshots: string[] = [];
  for (const profile of emas.profiles) {
    const path = join(folder, snapshotFileName(nimg, profile.sigmaRel));
    const tensors = exportTensors(networkWith(net, profile.params), 'all')
      .map((t) => encodeTensor(t.name, t.shape, t.data, config.snapshotDtype));
    await writeSafetensorsFile(path, tensors, {
      ...base,
      ema_sigma_rel: String(profile.sigmaRel),
      ema_gamma: String(profile.gamma),
      ema_time: String(nimg),
      ema_time_unit: 'image',
    }, { force: options.force });
    snapshots.push(path);
  }
  if (!options.saveRaw) return { snapshots };
  const rawFolder = join(runDir, 'raw');
  await mkdir(rawFolder, { recursive: true });
  const raw = join(rawFolder, rawFileName(nimg));
  // Raw weights always in float32: they exist to check the averaging exactly.
  const tensors = exportTensors(net, 'all').map((t) => encodeTensor(t.name, t.shape, t.data, 'F32'));
  await writeSafetensorsFile(raw, tensors, { ...base, ema_time: String(nimg), ema_time_unit: 'image' }, { force: options.force });
  return { snapshots, raw };
}
