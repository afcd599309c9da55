/**
 * Opens any snapshot file we can read as a TensorSource, by its extension.
 */
import { extname } from 'node:path';
import { openSafetensors } from '../safetensors/reader.js';
import type { TensorSource } from '../tensors/tensor-source.js';

export const SNAPSHOT_EXTENSIONS: readonly string[] = ['.safetensors'];

export function isSnapshotFileName(fileName: string): boolean {
  return !fileName.startsWith('.') && SNAPSHOT_EXTENSIONS.includes(extname(fileName).toLowerCase());
}

export async function openTensorFile(path: string): Promise<TensorSource> {
  return openSafetensors(path);
}
