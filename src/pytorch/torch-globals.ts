/**
 * What a PyTorch state dict may reference, and what each allowlisted global builds. This is the
 * host of the restricted unpickler: every global not listed here is refused by name, and the
 * listed callables only build plain descriptions (a tensor is a storage key, dtype, offset,
 * shape and stride), so loading never executes anything from the file.
 */
import { InputFileError } from '../errors.js';
import { DTYPE_BYTES, type DType } from '../tensors/tensor-source.js';
import type { UnpicklerHost } from './restricted-unpickler.js';
import { PyDict, PyGlobal, PyTuple, describeValue, type HostValue, type PyValue } from './pickle-values.js';

/** A storage record of the archive (`data/<key>`), as its persistent id describes it. */
export class StorageRef implements HostValue {
  readonly hostKind = 'storage';
  constructor(
    readonly key: string,
    /** Element type of the typed storage (U8 for an untyped storage). */
    readonly dtype: DType,
    readonly numel: number,
  ) {}
  get byteLength(): number {
    return this.numel * DTYPE_BYTES[this.dtype];
  }
}

/** A tensor view: `shape`/`stride`/`offset` in elements of `dtype` over the storage's bytes. */
export class TensorRef implements HostValue {
  readonly hostKind = 'tensor';
  constructor(
    readonly storage: StorageRef,
    readonly dtype: DType,
    readonly offset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {}
}

class DTypeRef implements HostValue {
  readonly hostKind = 'torch.dtype';
  constructor(readonly dtype: DType) {}
}

export const STORAGE_DTYPES: Readonly<Record<string, DType>> = {
  DoubleStorage: 'F64', FloatStorage: 'F32', HalfStorage: 'F16', BFloat16Storage: 'BF16',
  LongStorage: 'I64', IntStorage: 'I32', ShortStorage: 'I16', CharStorage: 'I8',
  ByteStorage: 'U8', BoolStorage: 'BOOL', UntypedStorage: 'U8',
};

const TORCH_DTYPES: Readonly<Record<string, DType>> = {
  float64: 'F64', double: 'F64', float32: 'F32', float: 'F32', float16: 'F16', half: 'F16',
  bfloat16: 'BF16', int64: 'I64', long: 'I64', int32: 'I32', int: 'I32', int16: 'I16',
  short: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

const CALLABLES = new Set([
  'collections.OrderedDict',
  'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_tensor_v3',
  'torch._utils._rebuild_parameter',
  'torch._utils._rebuild_parameter_with_state',
  // Protocol 2 pickles Python 3 bytes as _codecs.encode(text, 'latin1'): pure, and allowed only so.
  '_codecs.encode',
]);

function storageDType(module: string, name: string): DType | undefined {
  if (module !== 'torch' && module !== 'torch.storage') return undefined;
  return Object.prototype.hasOwnProperty.call(STORAGE_DTYPES, name) ? STORAGE_DTYPES[name] : undefined;
}

/** The unpickler host for `data.pkl`; `source` names the file in error messages. */
export function torchStateDictHost(source: string): UnpicklerHost {
  const fail = (message: string, hint?: string): never => {
    throw new InputFileError(`${source}: ${message}`, hint);
  };
  const expectInt = (value: PyValue, what: string): number => {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      fail(`${what} must be a non-negative integer, got ${describeValue(value)} ${String(value)}`);
    }
    return value as number;
  };
  const expectInts = (value: PyValue, what: string): number[] => {
    if (!(value instanceof PyTuple) && !Array.isArray(value)) fail(`${what} must be a tuple, got ${describeValue(value)}`);
    const items = value instanceof PyTuple ? value.items : (value as PyValue[]);
    return items.map((item, i) => expectInt(item, `${what}[${i}]`));
  };
  const rebuildTensor = (args: readonly PyValue[], dtypeOverride?: PyValue): TensorRef => {
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof StorageRef)) return fail(`tensor storage must come from the archive, got ${describeValue(storage)}`);
    let dtype = storage.dtype;
    if (dtypeOverride !== undefined) {
      if (!(dtypeOverride instanceof DTypeRef)) return fail(`tensor dtype must be a torch dtype, got ${describeValue(dtypeOverride)}`);
      dtype = dtypeOverride.dtype;
    }
    const shape = expectInts(size, 'tensor size');
    const strides = expectInts(stride, 'tensor stride');
    if (shape.length !== strides.length) fail(`tensor size has ${shape.length} dims but stride has ${strides.length}`);
    const start = expectInt(offset, 'storage offset');
    // The furthest element the view touches must lie inside the storage.
    let last = start;
    let empty = false;
    for (let d = 0; d < shape.length; d++) {
      if (shape[d] === 0) empty = true;
      last += (shape[d] - 1) * strides[d];
    }
    const elementBytes = DTYPE_BYTES[dtype];
    // Stride-0 (expanded) views may be larger than their storage, but sizes must stay exact numbers.
    if (!Number.isSafeInteger(shape.reduce((n, dim) => n * dim, elementBytes))) {
      fail(`tensor size [${shape}] is too large`);
    }
    if (!empty && ((last + 1) * elementBytes > storage.byteLength || !Number.isSafeInteger(last))) {
      fail(`tensor view (offset ${start}, size [${shape}], stride [${strides}]) reaches past storage ${storage.key} (${storage.numel} elements)`);
    }
    return new TensorRef(storage, dtype, start, shape, strides);
  };

  return {
    resolveGlobal(module, name) {
      const qualified = `${module}.${name}`;
      if (CALLABLES.has(qualified) || storageDType(module, name) !== undefined) return new PyGlobal(module, name);
      if (module === 'torch' && Object.prototype.hasOwnProperty.call(TORCH_DTYPES, name)) return new DTypeRef(TORCH_DTYPES[name]);
      return fail(
        `refused to load global ${qualified}: it is not a tensor, storage or container type, and loading it could run code`,
        'ema-synth reads only state dicts (names -> tensors); nothing from this file was executed. Save model.state_dict() or convert the file in a trusted Python session',
      );
    },
    call(callable, args) {
      if (!(callable instanceof PyGlobal) || !CALLABLES.has(callable.qualifiedName)) {
        return fail(`refused to call ${describeValue(callable)}: only tensor rebuild functions and OrderedDict may be called`);
      }
      const items = args.items;
      switch (callable.qualifiedName) {
        case 'collections.OrderedDict': {
          const dict = new PyDict(true);
          if (items.length === 1 && Array.isArray(items[0])) {
            for (const pair of items[0]) {
              const kv = pair instanceof PyTuple ? pair.items : Array.isArray(pair) ? pair : [];
              if (kv.length !== 2) fail('OrderedDict argument must be a list of pairs');
              try {
                dict.set(kv[0], kv[1]);
              } catch (error) {
                fail(`OrderedDict: ${(error as Error).message}`);
              }
            }
          } else if (items.length !== 0) {
            fail(`OrderedDict called with ${items.length} arguments`);
          }
          return dict;
        }
        case 'torch._utils._rebuild_tensor_v2':
          if (items.length < 4 || items.length > 7) fail(`_rebuild_tensor_v2 expects 6 or 7 arguments, got ${items.length}`);
          return rebuildTensor(items);
        case 'torch._utils._rebuild_tensor_v3':
          if (items.length < 7 || items.length > 8) fail(`_rebuild_tensor_v3 expects 7 or 8 arguments, got ${items.length}`);
          return rebuildTensor(items, items[6]);
        case 'torch._utils._rebuild_parameter':
        case 'torch._utils._rebuild_parameter_with_state':
          // A parameter is its data tensor; requires_grad, hooks and extra state do not affect values.
          if (!(items[0] instanceof TensorRef)) fail(`${callable.name} expects a tensor, got ${describeValue(items[0])}`);
          return items[0];
        default: { // _codecs.encode
          const [text, encoding] = items;
          if (items.length !== 2 || typeof text !== 'string' || encoding !== 'latin1') {
            fail("_codecs.encode is allowed only as encode(str, 'latin1')");
          }
          const bytes = new Uint8Array((text as string).length);
          for (let i = 0; i < bytes.length; i++) {
            const code = (text as string).charCodeAt(i);
            if (code > 0xff) fail('_codecs.encode: character outside latin1');
            bytes[i] = code;
          }
          return bytes;
        }
      }
    },
    newObject(cls, args) {
      if (cls instanceof PyGlobal && cls.qualifiedName === 'collections.OrderedDict' && args.items.length === 0) {
        return new PyDict(true);
      }
      return fail(`refused to construct ${describeValue(cls)}: only OrderedDict may be built with NEWOBJ`);
    },
    build(obj, state) {
      // OrderedDict state dicts carry `_metadata` (module versions) as instance attributes.
      if (obj instanceof PyDict && (state === null || state instanceof PyDict)) {
        if (state) for (const [key, value] of state.entries()) obj.attributes.set(String(key), value);
        return obj;
      }
      return fail(`refused to set the state of ${describeValue(obj)}`);
    },
    persistentLoad(pid) {
      if (!(pid instanceof PyTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
        return fail(`unsupported persistent id ${describeValue(pid)}; expected ('storage', type, key, location, numel)`);
      }
      const [, type, key, , numel] = pid.items;
      if (!(type instanceof PyGlobal)) return fail(`storage type must be a torch storage class, got ${describeValue(type)}`);
      const dtype = storageDType(type.module, type.name);
      if (dtype === undefined) return fail(`unsupported storage type ${type.qualifiedName}`);
      if (typeof key !== 'string' || !/^[\w.-]{1,200}$/.test(key)) return fail(`bad storage key ${describeValue(key)}`);
      return new StorageRef(key, dtype, expectInt(numel, `numel of storage ${key}`));
    },
  };
}
