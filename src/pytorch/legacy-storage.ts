/**
 * `torch.storage._load_from_bytes(b)` rebuilds a storage from `b`, a complete legacy (non-zip)
 * torch.save of that one storage: four small pickles (magic number, protocol version, system
 * info, the storage as a persistent id), a pickled list of storage keys, then the element count
 * (8 bytes, little-endian) and the raw data. Here the small pickles are read by the restricted
 * unpickler with a host that knows storage types only, and the data is located, never loaded.
 */
import { InputFileError } from '../errors.js';
import { DTYPE_BYTES } from '../tensors/tensor-source.js';
import type { ExternalBytes } from './pickle-scan.js';
import { PyDict, PyGlobal, PyTuple, describeValue, type PyValue } from './pickle-values.js';
import { unpickleFrom, type UnpicklerHost } from './restricted-unpickler.js';
import { STORAGE_DTYPES, StorageRef } from './torch-globals.js';

/** torch.save's magic number, pickled first in the legacy format. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

/** A storage whose data lies in the pickle file itself, inside a bytes payload. */
export class EmbeddedStorage extends StorageRef {
  constructor(
    key: string,
    dtype: StorageRef['dtype'],
    numel: number,
    /** The bytes payload holding the legacy torch.save. */
    readonly payload: ExternalBytes,
    /** Bytes of the payload before the data: the pickles and the element count. */
    readonly headerLength: number,
    /** Name of the storage class in the header (`HalfStorage`), which a writer changing dtype replaces. */
    readonly storageClass: string,
  ) {
    super(key, dtype, numel);
  }

  /** File offset of the first data byte. */
  get dataOffset(): number {
    return this.payload.dataOffset + this.headerLength;
  }
}

export function loadStorageFromBytes(payload: ExternalBytes, path: string): EmbeddedStorage {
  const source = `${path}: storage payload at byte ${payload.dataOffset}`;
  const fail = (message: string): never => {
    throw new InputFileError(`${source}: ${message}`);
  };
  const head = payload.head;
  let at = 0;
  const next = (): PyValue => {
    const { value, end } = unpickleFrom(head, legacyStorageHost(source), source, { start: at });
    at = end;
    return value;
  };
  const magic = next();
  if (BigInt(typeof magic === 'number' || typeof magic === 'bigint' ? magic : -1) !== LEGACY_MAGIC) fail('does not start with torch.save\'s magic number');
  const protocol = next();
  if (protocol !== LEGACY_PROTOCOL) fail(`legacy torch.save protocol ${String(protocol)}, expected ${LEGACY_PROTOCOL}`);
  const info = next();
  if (!(info instanceof PyDict) || info.get('little_endian') !== true) fail('was saved on a big-endian machine or lacks system info; only little-endian is supported');
  const storage = next();
  if (!(storage instanceof LegacyStorageId)) return fail(`holds a ${describeValue(storage)}, not a storage`);
  const keys = next();
  if (!Array.isArray(keys) || keys.length !== 1 || keys[0] !== storage.key) {
    fail(`lists storage keys ${describeValue(keys)}, expected exactly [${JSON.stringify(storage.key)}]`);
  }
  if (at + 8 > head.byteLength) fail('ends before the element count');
  const count = new DataView(head.buffer, head.byteOffset + at, 8).getBigUint64(0, true);
  if (count !== BigInt(storage.numel)) fail(`says ${count} elements before its data, but ${storage.numel} in its description`);
  const headerLength = at + 8;
  const dataBytes = storage.numel * DTYPE_BYTES[storage.dtype];
  if (headerLength + dataBytes !== payload.length) {
    fail(`holds ${payload.length - headerLength} data bytes, but ${storage.numel} ${storage.dtype} elements need ${dataBytes}`);
  }
  return new EmbeddedStorage(storage.key, storage.dtype, storage.numel, payload, headerLength, storage.storageClass);
}

class LegacyStorageId {
  readonly hostKind = 'legacy storage';
  constructor(readonly key: string, readonly dtype: StorageRef['dtype'], readonly numel: number, readonly storageClass: string) {}
}

/** Storage classes and the persistent id are all a legacy storage header may mention. */
function legacyStorageHost(source: string): UnpicklerHost {
  const fail = (message: string): never => {
    throw new InputFileError(`${source}: ${message}`, 'a storage payload may reference torch storage types only; nothing from this file was executed');
  };
  return {
    resolveGlobal(module, name) {
      if (module === 'torch' && Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, name)) return new PyGlobal(module, name);
      return fail(`refused to load global ${module}.${name} inside a storage payload`);
    },
    call: (callable) => fail(`refused to call ${describeValue(callable)} inside a storage payload`),
    newObject: (cls) => fail(`refused to construct ${describeValue(cls)} inside a storage payload`),
    build: (obj) => fail(`refused to set the state of ${describeValue(obj)} inside a storage payload`),
    persistentLoad(pid) {
      const items = pid instanceof PyTuple ? pid.items : [];
      if (items.length < 5 || items.length > 6 || items[0] !== 'storage') {
        return fail(`unsupported persistent id ${describeValue(pid)}; expected ('storage', type, key, location, numel, view)`);
      }
      const [, type, key, location, numel, view] = items;
      if (!(type instanceof PyGlobal)) return fail(`storage type must be a torch storage class, got ${describeValue(type)}`);
      if (typeof key !== 'string' || !/^[\w.-]{1,200}$/.test(key)) return fail(`bad storage key ${describeValue(key)}`);
      if (typeof location !== 'string') return fail(`storage location must be a string, got ${describeValue(location)}`);
      if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) return fail(`storage size must be a non-negative integer, got ${describeValue(numel)}`);
      if (view !== undefined && view !== null) return fail('storage views are not supported');
      return new LegacyStorageId(key, STORAGE_DTYPES[type.name], numel, type.name);
    },
  };
}
