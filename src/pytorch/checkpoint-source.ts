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
import { gatherStrided, isContiguous, storageSpan } from './strided-view.js';
import { ZipArchive, type ZipEntry } from './zip-archive.js';
import { inputError } from '../io/input-error.js';

export interface PytorchCheckpointOptions {
  /** Nested dict holding the state dict (`ema`, `state_dict`, or a dotted path). */
  readonly key?: string;
  /**
   * Largest storage window held to gather a non-contiguous view (default 64 MiB); views spanning
   * more are swept window by window. Memory tuning, and small values let tests reach that path.
   */
  readonly gatherWindowBytes?: number;
}

/** data.pkl of a state dict is small (names, shapes); a huge one is not a state dict. */
const MAX_PICKLE_BYTES = 512 * 1024 * 1024;
const MAX_GATHER_WINDOW = 64 * 1024 * 1024;

/** torch.save's legacy format starts by pickling this magic number (protocol 2, LONG1 of 10 bytes). */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
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
    return new PytorchCheckpointSource(path, archive, placed, options.gatherWindowBytes ?? MAX_GATHER_WINDOW);
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
    throw inputError(path, 'cannot read', error);
  }
  if (length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return;
  const isPickle = length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5;
  const isTar = length >= 262 && new TextDecoder('latin1').decode(head.subarray(257, 262)) === 'ustar';
  if (isTar || (length >= LEGACY_MAGIC.length && LEGACY_MAGIC.every((byte, i) => head[i] === byte))) {
    throw new InputFileError(`${path} is a legacy (non-zip) PyTorch checkpoint, which ema-synth does not read`, LEGACY_HINT);
  }
  if (isPickle) {
    // Not a legacy torch.save (that starts with its magic number, above), and loading it in Python would run it.
    throw new InputFileError(`${path} is a bare pickle, not a PyTorch zip checkpoint`,
      'if it is an EDM2 snapshot, name it <prefix>-<kimg>-<std>.pkl: ema-synth reads .pkl files as EDM2 pickles, without running them. Do not torch.load or pickle.load a file you do not trust: that runs code stored inside it');
  }
  throw new InputFileError(`${path} is not a PyTorch zip checkpoint (no zip signature at the start)`);
}

/** torch.save puts every record under one top folder (`archive/`, or the file's stem in older versions). */
function findPrefix(archive: ZipArchive): string {
  const names = [...archive.entries.keys()];
  if (names.some((name) => /^[^/]*\/?constants\.pkl$/.test(name))) {
    throw new InputFileError(
      `${archive.path} is a TorchScript archive (torch.jit.save), not a torch.save checkpoint`,
      'save the weights with torch.save(model.state_dict(), path) instead',
    );
  }
  const pickles = names.filter((name) => /^[^/]*\/?data\.pkl$/.test(name));
  if (pickles.length !== 1) {
    throw new InputFileError(`${archive.path}: expected one data.pkl in the archive, found ${pickles.length}`);
  }
  return pickles[0].slice(0, pickles[0].length - 'data.pkl'.length);
}

class PytorchCheckpointSource implements TensorSource {
  readonly tensors: readonly TensorEntry[];
  readonly metadata: Readonly<Record<string, string>> = {};
  /** The last gathered window of a non-contiguous tensor: chunked reads of it hit this. */
  private window: { name: string; first: number; bytes: Uint8Array } | undefined;

  constructor(
    readonly path: string,
    private readonly archive: ZipArchive,
    private readonly placed: Map<string, Placed>,
    private readonly gatherWindowBytes: number,
  ) {
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
    const { shape, stride, offset } = ref;
    // Strides are non-negative, so the view spans storage elements offset .. last.
    const last = shape.reduce((end, dim, d) => end + (dim - 1) * stride[d], offset);
    if ((last - offset + 1) * size <= this.gatherWindowBytes) {
      // Typical case: hold the view's whole storage span once; later chunks of this tensor reuse it.
      let window = this.window;
      if (window?.name !== name) {
        const bytes = new Uint8Array((last - offset + 1) * size);
        await this.archive.read(record, offset * size, bytes);
        window = { name, first: offset, bytes };
        this.window = window;
      }
      gatherStrided(window.bytes, window.first, size, ref, first, count, gathered);
    } else {
      // A huge non-contiguous view: sweep the span this chunk touches in bounded windows.
      const span = storageSpan(shape, stride, offset, first, count);
      const windowElements = Math.max(1, Math.floor(this.gatherWindowBytes / size));
      const bytes = new Uint8Array(Math.min(windowElements, span.max - span.min + 1) * size);
      for (let start = span.min; start <= span.max; start += windowElements) {
        const piece = bytes.subarray(0, Math.min(windowElements, span.max - start + 1) * size);
        await this.archive.read(record, start * size, piece);
        gatherStrided(piece, start, size, ref, first, count, gathered);
      }
    }
    const skip = byteOffset - first * size;
    target.set(gathered.subarray(skip, skip + target.byteLength));
  }

  async close(): Promise<void> {
    this.window = undefined;
    await this.archive.close();
  }
}
