/**
 * PyTorch checkpoint or EDM2 snapshot pickle -> safetensors snapshot: streams every tensor of the selected state dict
 * through the atomic safetensors writer, chunk by chunk, with the snapshot metadata of FORMAT.md.
 */
import { SafetensorsWriter } from '../safetensors/writer.js';
import { extname } from 'node:path';
import { openPytorchCheckpoint } from './checkpoint-source.js';
import { openEdm2Pickle } from './edm2-pickle-source.js';

export interface SnapshotDescription {
  readonly sigmaRel?: number;
  readonly gamma?: number;
  readonly time?: number;
  readonly timeUnit?: string;
}

/** FORMAT.md metadata (`ema_sigma_rel`, `ema_gamma`, `ema_time`, `ema_time_unit`) for what is known. */
export function snapshotMetadata(description: SnapshotDescription): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (description.sigmaRel !== undefined) metadata.ema_sigma_rel = String(description.sigmaRel);
  if (description.gamma !== undefined) metadata.ema_gamma = String(description.gamma);
  if (description.time !== undefined) metadata.ema_time = String(description.time);
  if (description.timeUnit !== undefined) metadata.ema_time_unit = description.timeUnit;
  return metadata;
}

export interface ConvertOptions {
  readonly key?: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly force?: boolean;
  readonly signal?: AbortSignal;
  /** Bytes per read/write (default 16 MiB): memory stays bounded whatever the tensor sizes. */
  readonly chunkBytes?: number;
  readonly onProgress?: (bytesDone: number) => void;
}

export interface ConvertResult {
  readonly tensors: number;
  readonly bytes: number;
}

export async function convertCheckpoint(input: string, output: string, options: ConvertOptions): Promise<ConvertResult> {
  const source = extname(input).toLowerCase() === '.pkl' ? await openEdm2Pickle(input, { key: options.key }) : await openPytorchCheckpoint(input, { key: options.key });
  try {
    const writer = await SafetensorsWriter.create(
      output,
      { tensors: source.tensors.map(({ name, dtype, shape }) => ({ name, dtype, shape })), metadata: options.metadata },
      { force: options.force },
    );
    let done = 0;
    try {
      const chunk = new Uint8Array(options.chunkBytes ?? 16 * 1024 * 1024);
      for (const tensor of source.tensors) {
        for (let at = 0; at < tensor.byteLength; at += chunk.byteLength) {
          if (options.signal?.aborted) throw options.signal.reason;
          const piece = chunk.subarray(0, Math.min(chunk.byteLength, tensor.byteLength - at));
          await source.read(tensor.name, at, piece);
          await writer.write(piece);
          done += piece.byteLength;
          options.onProgress?.(done);
        }
      }
      await writer.commit();
    } catch (error) {
      await writer.abort();
      throw error;
    }
    return { tensors: source.tensors.length, bytes: done };
  } finally {
    await source.close();
  }
}
