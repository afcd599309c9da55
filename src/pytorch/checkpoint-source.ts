/**
 * A PyTorch zip checkpoint (torch.save since 1.6) as a TensorSource: `data.pkl` is unpickled by
 * the restricted unpickler (nothing executes), the chosen state dict maps each tensor to its
 * storage record `<prefix>/data/<key>`, and reads stream from the stored zip entries.
 */
import { open } from 'node:fs/promises';
import { InputFileError } from '../errors.js';
import { DTYPE_BYTES, elementCount, type TensorEntry, type TensorSource } from '../tensors/tensor-source.js';
import { unpickle } from './restricted-unpickler.js';
import { selectStateDict } from './state-dict.js';
import { torchStateDictHost, type TensorRef } from './torch-globals.js';
import { forEachStridedIndex, isContiguous, storageSpan } from './strided-view.js';
import { ZipArchive, type ZipEntry } from './zip-archive.js';

export interface PytorchCheckpointOptions {
  /** Nested dict holding the state dict (`ema`, `state_dict`, or a dotted path). */
  readonly key?: string;
}

/** data.pkl of a state dict is small (names, shapes); a huge one is not a state dict. */
const MAX_PICKLE_BYTES = 512 * 1024 * 1024;
/** Non-contiguous views are gathered from a window of their storage of at most this size. */
const MAX_GATHER_WINDOW = 64 * 1024 * 1024;

const LEGACY_HINT =
  'this is the legacy (pre-1.6) torch.save format; in Python, re-save it with ' +
  'torch.save(torch.load(path), path2, _use_new_zipfile_serialization=True), or convert it to safetensors there';

interface Placed {
  readonly entry: TensorEntry;
  readonly ref: TensorRef;
  readonly record: ZipEntry;
  readonly contiguous: boolean;
}

export async function openPytorchCheckpoint(path: string, options: PytorchCheckpointOptions = {}): Promise<TensorSource> {
  await checkMagic(path);
  const archive = await ZipArchive.open(path);
  try {
    const prefix = findPrefix(archive);
    const byteorder = archive.entries.get(`${prefix}byteorder`);
    if (byteorder) {
      const order = new TextDecoder().decode(await archive.readAll(byteorder, 16)).trim();
      if (order !== 'little') throw new InputFileError(`${path} was saved with ${order}-endian byte order; only little-endian is supported`);
    }
    const pickle = await archive.readAll(archive.entries.get(`${prefix}data.pkl`) as ZipEntry, MAX_PICKLE_BYTES);
    const source = `${path} (data.pkl)`;
    const root = unpickle(pickle, torchStateDictHost(source), source);
    const placed = new Map<string, Placed>();
    for (const { name, tensor } of selectStateDict(root, options.key, path)) {
      const recordName = `${prefix}data/${tensor.storage.key}`;
      const record = archive.entries.get(recordName);
      if (!record) throw new InputFileError(`${path}: tensor ${name} refers to storage record ${recordName}, which is missing`);
      if (record.method !== 0) {
        throw new InputFileError(
          `${path}: storage of tensor ${name} (${recordName}) is compressed (zip method ${record.method}); only stored entries can be streamed`,
          'torch.save writes uncompressed archives; re-save with torch.save rather than re-zipping the file',
        );
      }
      if (record.uncompressedSize < tensor.storage.byteLength) {
        throw new InputFileError(
          `${path}: storage ${recordName} of tensor ${name} has ${record.uncompressedSize} bytes, expected at least ${tensor.storage.byteLength}`,
        );
      }
      const byteLength = elementCount(tensor.shape) * DTYPE_BYTES[tensor.dtype];
      const entry: TensorEntry = { name, dtype: tensor.dtype, shape: [...tensor.shape], byteLength };
      placed.set(name, { entry, ref: tensor, record, contiguous: isContiguous(tensor.shape, tensor.stride) });
    }
    return new PytorchCheckpointSource(path, archive, placed);
  } catch (error) {
    await archive.close();
    throw error;
  }
}

async function checkMagic(path: string): Promise<void> {
  const head = new Uint8Array(512);
  let length: number;
  try {
    const handle = await open(path, 'r');
    try {
      length = (await handle.read(head, 0, head.byteLength, 0)).bytesRead;
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new InputFileError(`cannot read ${path}: ${(error as Error).message}`, undefined, error);
  }
  if (length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return;
  const isPickle = length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5;
  const isTar = length >= 262 && new TextDecoder('latin1').decode(head.subarray(257, 262)) === 'ustar';
  if (isPickle || isTar) {
    throw new InputFileError(`${path} is a legacy (non-zip) PyTorch checkpoint, which ema-synth does not read`, LEGACY_HINT);
  }
  throw new InputFileError(`${path} is not a PyTorch zip checkpoint (no zip signature at the start)`);
}

/** torch.save puts every record under one top folder (`archive/`, or the file's stem in older versions). */
function findPrefix(archive: ZipArchive): string {
  const pickles = [...archive.entries.keys()].filter((name) => /^[^/]*\/?data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    const isScript = [...archive.entries.keys()].some((name) => name.endsWith('constants.pkl'));
    throw new InputFileError(
      `${archive.path}: expected one data.pkl in the archive, found ${pickles.length}`,
      isScript ? 'this looks like a TorchScript archive; save model.state_dict() with torch.save instead' : undefined,
    );
  }
  return pickles[0].slice(0, pickles[0].length - 'data.pkl'.length);
}

class PytorchCheckpointSource implements TensorSource {
  readonly tensors: readonly TensorEntry[];
  readonly metadata: Readonly<Record<string, string>> = {};
  /** The last gathered window of a non-contiguous tensor: chunked reads of it hit this. */
  private window: { name: string; first: number; bytes: Uint8Array } | undefined;

  constructor(readonly path: string, private readonly archive: ZipArchive, private readonly placed: Map<string, Placed>) {
    this.tensors = [...placed.values()].map((p) => p.entry);
  }

  async read(name: string, byteOffset: number, target: Uint8Array): Promise<void> {
    const placed = this.placed.get(name);
    if (!placed) throw new InputFileError(`${this.path} has no tensor named ${name}`);
    const { entry, ref, record } = placed;
    if (!(byteOffset >= 0) || byteOffset + target.byteLength > entry.byteLength) {
      throw new InputFileError(
        `${this.path}: read of ${target.byteLength} bytes at ${byteOffset} is outside tensor ${name} (${entry.byteLength} bytes)`,
      );
    }
    if (target.byteLength === 0) return;
    const size = DTYPE_BYTES[ref.dtype];
    if (placed.contiguous) {
      await this.archive.read(record, ref.offset * size + byteOffset, target);
      return;
    }
    const first = Math.floor(byteOffset / size);
    const count = Math.ceil((byteOffset + target.byteLength) / size) - first;
    const gathered = new Uint8Array(count * size);
    const { min, max } = storageSpan(ref.shape, ref.stride, ref.offset, first, count);
    const spanBytes = (max - min + 1) * size;
    if (spanBytes <= MAX_GATHER_WINDOW) {
      const window = await this.windowFor(placed, min, spanBytes);
      forEachStridedIndex(ref.shape, ref.stride, ref.offset, first, count, (k, at) => {
        const from = (at - window.first) * size;
        gathered.set(window.bytes.subarray(from, from + size), k * size);
      });
    } else {
      // A huge transposed view: read element by element (slow, but memory stays bounded).
      const indices: number[] = [];
      forEachStridedIndex(ref.shape, ref.stride, ref.offset, first, count, (_, at) => indices.push(at));
      for (let k = 0; k < indices.length; k++) {
        await this.archive.read(record, indices[k] * size, gathered.subarray(k * size, (k + 1) * size));
      }
    }
    const skip = byteOffset - first * size;
    target.set(gathered.subarray(skip, skip + target.byteLength));
  }

  async close(): Promise<void> {
    this.window = undefined;
    await this.archive.close();
  }

  private async windowFor(placed: Placed, min: number, spanBytes: number): Promise<{ first: number; bytes: Uint8Array }> {
    const size = DTYPE_BYTES[placed.ref.dtype];
    const cached = this.window;
    if (cached && cached.name === placed.entry.name && cached.first <= min &&
        (cached.first + cached.bytes.byteLength / size) * size >= min * size + spanBytes) {
      return cached;
    }
    // Load the whole touched part of the storage once if it fits, so later chunks reuse it.
    // Strides are non-negative, so the view spans offset .. offset + sum((size_d - 1) * stride_d).
    const { shape, stride, offset } = placed.ref;
    const last = shape.reduce((end, dim, d) => end + (dim - 1) * stride[d], offset);
    const wholeBytes = (last - offset + 1) * size;
    const first = wholeBytes <= MAX_GATHER_WINDOW ? offset : min;
    const bytes = new Uint8Array(wholeBytes <= MAX_GATHER_WINDOW ? wholeBytes : spanBytes);
    await this.archive.read(placed.record, first * size, bytes);
    this.window = { name: placed.entry.name, first, bytes };
    return this.window;
  }
}
