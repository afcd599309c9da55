/**
 * Opens any snapshot file we can read as a TensorSource, by its extension: safetensors, or a
 * PyTorch zip checkpoint read by the restricted unpickler (nothing in it is ever executed).
 */
import { extname } from 'node:path';
import { openPytorchCheckpoint } from '../pytorch/checkpoint-source.js';
import { openSafetensors } from '../safetensors/reader.js';
import type { TensorSource } from '../tensors/tensor-source.js';

const SAFETENSORS = ['.safetensors'];
const PYTORCH = ['.pt', '.pth'];

export function isSnapshotFileName(fileName: string): boolean {
  const extension = extname(fileName).toLowerCase();
  return !fileName.startsWith('.') && (SAFETENSORS.includes(extension) || PYTORCH.includes(extension));
}

export function isPytorchFileName(fileName: string): boolean {
  return PYTORCH.includes(extname(fileName).toLowerCase());
}

export async function openTensorFile(path: string, options: { key?: string } = {}): Promise<TensorSource> {
  return isPytorchFileName(path) ? openPytorchCheckpoint(path, { key: options.key }) : openSafetensors(path);
}
