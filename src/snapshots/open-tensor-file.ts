/**
 * Opens any snapshot file we can read as a TensorSource, by its extension: safetensors, or a
 * PyTorch zip checkpoint or an EDM2 snapshot pickle, both read by the restricted unpickler
 * (nothing in them is ever executed).
 */
import { extname } from 'node:path';
import { openPytorchCheckpoint } from '../pytorch/checkpoint-source.js';
import { openEdm2Pickle } from '../pytorch/edm2-pickle-source.js';
import { openSafetensors } from '../safetensors/reader.js';
import type { TensorSource } from '../tensors/tensor-source.js';

const SAFETENSORS = ['.safetensors'];
const PYTORCH = ['.pt', '.pth'];
/** EDM2's own snapshots: pickles of the training state, read as data (pytorch/edm2-pickle-source.ts). */
const EDM2_PICKLE = ['.pkl'];

export function isSnapshotFileName(fileName: string): boolean {
  const extension = extname(fileName).toLowerCase();
  return !fileName.startsWith('.') && (SAFETENSORS.includes(extension) || PYTORCH.includes(extension) || EDM2_PICKLE.includes(extension));
}

export function isEdm2PickleFileName(fileName: string): boolean {
  return EDM2_PICKLE.includes(extname(fileName).toLowerCase());
}

export function isPytorchFileName(fileName: string): boolean {
  return PYTORCH.includes(extname(fileName).toLowerCase());
}

export async function openTensorFile(path: string, options: { key?: string } = {}): Promise<TensorSource> {
  if (isEdm2PickleFileName(path)) return openEdm2Pickle(path, { key: options.key });
  return isPytorchFileName(path) ? openPytorchCheckpoint(path, { key: options.key }) : openSafetensors(path);
}
