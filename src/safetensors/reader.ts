import { open, type FileHandle } from 'node:fs/promises';
import { InputFileError } from '../errors.js';
import type { TensorSource } from '../tensors/tensor-source.js';
import { parseHeaderJson, readHeaderLength, type SafetensorsTensor } from './header.js';
import { describeReadError } from '../io/input-error.js';

const TRUNCATED_HINT = 'if a training job is still writing this file, wait for it to finish (or use --skip-invalid)';

/** A safetensors file opened for chunked reads. Only the header is held in memory. */
export interface SafetensorsFile extends TensorSource {
  readonly tensors: readonly SafetensorsTensor[];
  /** Byte position of the data section in the file (8 + header length). */
  readonly dataStart: number;
  /** File size the header promises (dataStart + data section). */
  readonly fileSize: number;
  /** Looks a tensor up by name; throws an InputFileError naming the file if it is absent. */
  tensor(name: string): SafetensorsTensor;
  /** Absolute file position of a tensor's first byte, so callers can coalesce adjacent reads. */
  absoluteOffset(name: string): number;
  /** Fills `target` from absolute file position `position` (any span inside the data section). */
  readAt(position: number, target: Uint8Array): Promise<void>;
}

/** Opens `path` read-only and reads and validates its header; tensor data is read on demand. */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  const handle = await openReadOnly(path);
  try {
    const size = (await handle.stat()).size;
    const prefix = new Uint8Array(8);
    await readFully(handle, prefix, 0, path, Math.min(8, size));
    const headerLength = readHeaderLength(prefix, size, path);
    const json = new Uint8Array(headerLength);
    await readFully(handle, json, 8, path, headerLength);
    const header = parseHeaderJson(json, size - 8 - headerLength, path);
    return new SafetensorsFileImpl(path, handle, 8 + headerLength, size, header.tensors, header.metadata);
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}

class SafetensorsFileImpl implements SafetensorsFile {
  private handle: Promise<FileHandle> | undefined;
  private readonly byName: Map<string, SafetensorsTensor>;

  constructor(
    readonly path: string,
    handle: FileHandle,
    readonly dataStart: number,
    readonly fileSize: number,
    readonly tensors: readonly SafetensorsTensor[],
    readonly metadata: Readonly<Record<string, string>>,
  ) {
    this.handle = Promise.resolve(handle);
    this.byName = new Map(tensors.map((tensor) => [tensor.name, tensor]));
  }

  tensor(name: string): SafetensorsTensor {
    const tensor = this.byName.get(name);
    if (tensor === undefined) throw new InputFileError(`${this.path}: no tensor named ${JSON.stringify(name)}`);
    return tensor;
  }

  absoluteOffset(name: string): number {
    return this.dataStart + this.tensor(name).begin;
  }

  async read(name: string, byteOffset: number, target: Uint8Array): Promise<void> {
    const tensor = this.tensor(name);
    if (!Number.isSafeInteger(byteOffset) || byteOffset < 0 || byteOffset + target.byteLength > tensor.byteLength) {
      throw new InputFileError(`${this.path}: tensor ${JSON.stringify(name)}: cannot read ${target.byteLength} bytes at offset ${byteOffset}, the tensor has ${tensor.byteLength} bytes`);
    }
    await this.readSpan(this.dataStart + tensor.begin + byteOffset, target, `tensor ${JSON.stringify(name)}`);
  }

  async readAt(position: number, target: Uint8Array): Promise<void> {
    if (!Number.isSafeInteger(position) || position < this.dataStart || position + target.byteLength > this.fileSize) {
      throw new InputFileError(`${this.path}: cannot read ${target.byteLength} bytes at position ${position}, the data section spans [${this.dataStart}, ${this.fileSize})`);
    }
    await this.readSpan(position, target, `bytes at position ${position}`);
  }

  async close(): Promise<void> {
    const pending = this.handle;
    this.handle = undefined;
    if (pending === undefined) return;
    const handle = await pending.catch(() => undefined);
    await handle?.close();
  }

  private async readSpan(position: number, target: Uint8Array, what: string): Promise<void> {
    if (target.byteLength === 0) return;
    const handle = await this.open();
    await readFully(handle, target, position, this.path, target.byteLength, what);
  }

  /** Reopens lazily after close(), so a pool can keep many sources with few descriptors. */
  private open(): Promise<FileHandle> {
    if (this.handle === undefined) {
      const pending = reopen(this.path, this.fileSize);
      // A failed reopen must not poison later attempts.
      pending.catch(() => {
        if (this.handle === pending) this.handle = undefined;
      });
      this.handle = pending;
    }
    return this.handle;
  }
}

async function reopen(path: string, expectedSize: number): Promise<FileHandle> {
  const handle = await openReadOnly(path);
  const size = (await handle.stat()).size;
  if (size < expectedSize) {
    await handle.close().catch(() => undefined);
    throw new InputFileError(`${path}: the file shrank to ${size} bytes since its header was read (expected ${expectedSize}): it looks truncated`, TRUNCATED_HINT);
  }
  return handle;
}

async function openReadOnly(path: string): Promise<FileHandle> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new InputFileError(`${path}: cannot open for reading (${describeReadError(error)})`, undefined, error);
  }
  const stat = await handle.stat();
  if (!stat.isFile()) {
    await handle.close().catch(() => undefined);
    throw new InputFileError(`${path}: not a regular file`);
  }
  return handle;
}

/** Positional reads until `length` bytes arrived; a short file is reported as truncated. */
async function readFully(handle: FileHandle, target: Uint8Array, position: number, path: string, length: number, what = 'header'): Promise<void> {
  let done = 0;
  while (done < length) {
    let bytesRead: number;
    try {
      ({ bytesRead } = await handle.read(target, done, length - done, position + done));
    } catch (error) {
      throw new InputFileError(`${path}: read failed for ${what} (${describeReadError(error)})`, undefined, error);
    }
    if (bytesRead === 0) {
      throw new InputFileError(`${path}: the file ended after ${position + done} bytes while reading ${what}: it looks truncated`, TRUNCATED_HINT);
    }
    done += bytesRead;
  }
}

