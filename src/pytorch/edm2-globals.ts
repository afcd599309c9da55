/**
 * The unpickler host for EDM2's snapshot pickles: the state-dict host (tensors, storages,
 * OrderedDict) plus the few globals such a pickle names, each turned into inert data:
 *
 * - `torch_utils.persistence._reconstruct_persistent_obj(meta)` would compile and run
 *   `meta['module_src']`; here it yields a PersistentObject holding `meta` (the source stays a string);
 * - `dnnlib.util.EasyDict` is a dict;
 * - classes of `torch.nn.modules` (ModuleDict, ...) become ModuleObjects whose state BUILD sets;
 * - `torch.storage._load_from_bytes(payload)` is parsed as a legacy torch.save (legacy-storage.ts).
 *
 * Every other global is refused by name, as in the state-dict host.
 */
import { InputFileError } from '../errors.js';
import { loadStorageFromBytes } from './legacy-storage.js';
import { ExternalBytes } from './pickle-scan.js';
import { PyDict, PyGlobal, describeValue, type HostValue, type PyValue } from './pickle-values.js';
import type { UnpicklerHost } from './restricted-unpickler.js';
import { torchStateDictHost } from './torch-globals.js';

const RECONSTRUCT_PERSISTENT = 'torch_utils.persistence._reconstruct_persistent_obj';
const EASY_DICT = 'dnnlib.util.EasyDict';
const LOAD_FROM_BYTES = 'torch.storage._load_from_bytes';
const TORCH_MODULES = /^torch\.nn\.modules(\.\w+)+$/;

/** An object of a class whose source the pickle carries; `meta` is data, its source is never run. */
export class PersistentObject implements HostValue {
  readonly hostKind = 'persistent object';
  constructor(readonly meta: PyDict) {}
  get className(): string {
    const name = this.meta.get('class_name');
    return typeof name === 'string' ? name : '?';
  }
  get moduleSource(): string {
    const source = this.meta.get('module_src');
    return typeof source === 'string' ? source : '';
  }
  get state(): PyValue | undefined {
    return this.meta.get('state');
  }
}

/** An instance of a torch.nn container class (ModuleDict, ...): its `__dict__` only. */
export class ModuleObject implements HostValue {
  readonly hostKind: string;
  state: PyValue | undefined;
  constructor(readonly cls: PyGlobal) {
    this.hostKind = cls.qualifiedName;
  }
}

export function edm2PickleHost(path: string): UnpicklerHost {
  const base = torchStateDictHost(path);
  const fail = (message: string): never => {
    throw new InputFileError(`${path}: ${message}`);
  };
  return {
    resolveGlobal(module, name) {
      const qualified = `${module}.${name}`;
      if (qualified === RECONSTRUCT_PERSISTENT || qualified === EASY_DICT || qualified === LOAD_FROM_BYTES) return new PyGlobal(module, name);
      if (TORCH_MODULES.test(module) && /^[A-Z]\w*$/.test(name)) return new PyGlobal(module, name);
      return base.resolveGlobal(module, name);
    },
    call(callable, args) {
      const name = callable instanceof PyGlobal ? callable.qualifiedName : '';
      if (name === RECONSTRUCT_PERSISTENT) {
        const [meta] = args.items;
        if (args.items.length !== 1 || !(meta instanceof PyDict)) return fail(`${RECONSTRUCT_PERSISTENT} expects one dict, got ${args.items.length} argument(s)`);
        if (meta.get('type') !== 'class') return fail(`persistent object of type ${describeValue(meta.get('type'))} ${String(meta.get('type'))}; only 'class' is known`);
        return new PersistentObject(meta);
      }
      if (name === LOAD_FROM_BYTES) {
        const [payload] = args.items;
        if (args.items.length !== 1 || !(payload instanceof ExternalBytes)) return fail(`${LOAD_FROM_BYTES} expects bytes stored in the file, got ${describeValue(payload)}`);
        return loadStorageFromBytes(payload, path);
      }
      return base.call(callable, args);
    },
    newObject(cls, args) {
      if (cls instanceof PyGlobal && args.items.length === 0) {
        if (cls.qualifiedName === EASY_DICT) return new PyDict();
        if (TORCH_MODULES.test(cls.module)) return new ModuleObject(cls);
      }
      return base.newObject(cls, args);
    },
    build(obj, state) {
      if (obj instanceof ModuleObject && state instanceof PyDict && obj.state === undefined) {
        obj.state = state;
        return obj;
      }
      return base.build(obj, state);
    },
    persistentLoad: (pid) => fail(`unexpected persistent id ${describeValue(pid)}: an EDM2 snapshot pickle has none`),
  };
}

