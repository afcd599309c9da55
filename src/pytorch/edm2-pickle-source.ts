/**
 * An EDM2 snapshot pickle (`network-snapshot-<kimg>-<std>.pkl`) as a TensorSource: the file is
 * scanned (pickle-scan.ts), its skeleton unpickled by the restricted unpickler with the EDM2 host
 * (nothing runs: `module_src` stays a string), the `ema` network's state dict is named as
 * `state_dict()` names it, and reads go straight to each storage's bytes in the file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { InputFileError } from '../errors.js';
import { DTYPE_BYTES, elementCount, type TensorEntry, type TensorSource } from '../tensors/tensor-source.js';
import { edm2PickleHost } from './edm2-globals.js';
import { describeEntry, moduleStateDict, persistentClasses } from './edm2-module-tree.js';
import { EmbeddedStorage } from './legacy-storage.js';
import { PyDict, describeValue } from './pickle-values.js';
import { scanPickleFile, type ScannedPickle } from './pickle-scan.js';
import { unpickleFrom } from './restricted-unpickler.js';
import { isContiguous } from './strided-view.js';
import type { TensorRef } from './torch-globals.js';

export const DEFAULT_NETWORK_KEY = 'ema';

export interface Edm2Tensor {
  readonly entry: TensorEntry;
  readonly ref: TensorRef;
  readonly storage: EmbeddedStorage;
  readonly kind: 'parameter' | 'buffer';
}

/** What `inspect` shows and the pickle writer needs besides the tensors. */
export interface Edm2PickleLayout {
  readonly networkKey: string;
  readonly otherKeys: readonly { readonly key: string; readonly description: string }[];
  readonly classes: readonly { readonly className: string; readonly sourceBytes: number; readonly sourceSha256: string }[];
  readonly scan: Omit<ScannedPickle, 'skeleton' | 'buffers'>;
  /** The network's tensors in file order. */
  readonly tensors: readonly Edm2Tensor[];
}

export class Edm2PickleSource implements TensorSource {
  readonly tensors: readonly TensorEntry[];
  readonly metadata: Readonly<Record<string, string>> = {};
  /** Module buffers: state, not trained weights; a reconstruction copies them from the latest snapshot. */
  readonly bufferNames: ReadonlySet<string>;
  private readonly byName: Map<string, Edm2Tensor>;
  private handle: FileHandle | undefined;

  constructor(readonly path: string, readonly layout: Edm2PickleLayout) {
    this.tensors = layout.tensors.map((t) => t.entry);
    this.bufferNames = new Set(layout.tensors.filter((t) => t.kind === 'buffer').map((t) => t.entry.name));
    this.byName = new Map(layout.tensors.map((t) => [t.entry.name, t]));
  }

  async read(name: string, byteOffset: number, target: Uint8Array): Promise<void> {
    const tensor = this.byName.get(name);
    if (!tensor) throw new InputFileError(`${this.path} has no tensor named ${name}`);
    if (!(byteOffset >= 0) || byteOffset + target.byteLength > tensor.entry.byteLength) {
      throw new InputFileError(`${this.path}: read of ${target.byteLength} bytes at ${byteOffset} is outside tensor ${name} (${tensor.entry.byteLength} bytes)`);
    }
    if (target.byteLength === 0) return;
    this.handle ??= await open(this.path, 'r').catch((error: unknown) => {
      throw new InputFileError(`cannot read ${this.path}: ${(error as Error).message}`, undefined, error);
    });
    const start = tensor.storage.dataOffset + tensor.ref.offset * DTYPE_BYTES[tensor.ref.dtype] + byteOffset;
    let done = 0;
    while (done < target.byteLength) {
      const { bytesRead } = await this.handle.read(target, done, target.byteLength - done, start + done);
      if (bytesRead === 0) throw new InputFileError(`${this.path}: the file ends inside tensor ${name}; was it truncated after it was opened?`);
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}

export async function openEdm2Pickle(path: string, options: { key?: string } = {}): Promise<Edm2PickleSource> {
  const networkKey = options.key ?? DEFAULT_NETWORK_KEY;
  const { skeleton, buffers, ...scan } = await scanPickleFile(path);
  const { value: root } = unpickleFrom(skeleton, edm2PickleHost(path), path, { outOfBand: buffers });
  if (!(root instanceof PyDict)) throw new InputFileError(`${path} holds a ${describeValue(root)}, not an EDM2 snapshot (a dict with an ${networkKey} network)`);
  const keys = [...root.entries()].map(([key]) => String(key));
  const network = root.get(networkKey);
  if (network === undefined) {
    throw new InputFileError(`${path} has no ${JSON.stringify(networkKey)} entry; its keys are: ${keys.join(', ') || 'none'}`,
      networkKey === DEFAULT_NETWORK_KEY ? 'EDM2 snapshots keep the network under "ema"; give --key NAME to read another entry' : undefined);
  }
  const tensors = moduleStateDict(network, networkKey, path).map(({ name, tensor, kind }): Edm2Tensor => {
    const storage = tensor.storage;
    if (!(storage instanceof EmbeddedStorage)) throw new InputFileError(`${path}: tensor ${name} has no storage in the file`);
    if (!isContiguous(tensor.shape, tensor.stride)) {
      throw new InputFileError(`${path}: tensor ${name} is a non-contiguous view (size [${tensor.shape}], stride [${tensor.stride}]), which EDM2 snapshots do not hold`);
    }
    const entry: TensorEntry = { name, dtype: tensor.dtype, shape: [...tensor.shape], byteLength: elementCount(tensor.shape) * DTYPE_BYTES[tensor.dtype] };
    return { entry, ref: tensor, storage, kind };
  });
  if (tensors.length === 0) throw new InputFileError(`${path}: the ${networkKey} network holds no tensors`);
  tensors.sort((a, b) => a.storage.dataOffset - b.storage.dataOffset);
  const otherKeys = [...root.entries()].filter(([key]) => key !== networkKey).map(([key, value]) => ({ key: String(key), description: describeEntry(value) }));
  const classes = persistentClasses(root).map(({ className, sourceBytes, source }) => ({
    className, sourceBytes, sourceSha256: createHash('sha256').update(source).digest('hex'),
  }));
  return new Edm2PickleSource(path, { networkKey, otherKeys, classes, scan, tensors });
}
