/**
 * The state dict of a pickled torch.nn.Module, as `state_dict()` names it: the module's
 * `_parameters`, then its persistent `_buffers`, then each child of `_modules` under
 * `<child>.`, recursively; None entries are skipped, as PyTorch skips them.
 */
import { InputFileError } from '../errors.js';
import { ModuleObject, PersistentObject } from './edm2-globals.js';
import { PyDict, PySet, PyTuple, describeValue, type PyValue } from './pickle-values.js';
import { TensorRef } from './torch-globals.js';

export interface ModuleTensor {
  readonly name: string;
  readonly tensor: TensorRef;
  readonly kind: 'parameter' | 'buffer';
}

const MAX_DEPTH = 200;

export function moduleStateDict(root: PyValue, rootName: string, path: string): ModuleTensor[] {
  const tensors: ModuleTensor[] = [];
  const visiting = new Set<PyDict>();
  const walk = (module: PyValue, prefix: string, depth: number): void => {
    const where = prefix === '' ? rootName : `${rootName}.${prefix.slice(0, -1)}`;
    const state = moduleState(module);
    if (!(state instanceof PyDict) || !(state.get('_parameters') instanceof PyDict)) {
      throw new InputFileError(`${path}: ${where} is a ${describeValue(module)}, not a torch.nn.Module state (no _parameters)`);
    }
    if (visiting.has(state) || depth > MAX_DEPTH) throw new InputFileError(`${path}: ${where}: the module tree loops or is deeper than ${MAX_DEPTH}`);
    visiting.add(state);
    const skipped = nonPersistentBuffers(state.get('_non_persistent_buffers_set'));
    const groups: [PyValue | undefined, 'parameter' | 'buffer'][] = [[state.get('_parameters'), 'parameter'], [state.get('_buffers'), 'buffer']];
    for (const [group, kind] of groups) {
      if (group === undefined) continue;
      if (!(group instanceof PyDict)) throw new InputFileError(`${path}: ${where}: _${kind}s is a ${describeValue(group)}, not a dict`);
      for (const [name, value] of group.entries()) {
        if (value === null || (kind === 'buffer' && skipped.has(String(name)))) continue;
        if (typeof name !== 'string' || !(value instanceof TensorRef)) {
          throw new InputFileError(`${path}: ${where}: ${kind} ${String(describeValue(name) === 'str' ? name : describeValue(name))} is a ${describeValue(value)}, not a tensor`);
        }
        tensors.push({ name: prefix + name, tensor: value, kind });
      }
    }
    const children = state.get('_modules');
    if (children !== undefined) {
      if (!(children instanceof PyDict)) throw new InputFileError(`${path}: ${where}: _modules is a ${describeValue(children)}, not a dict`);
      for (const [name, child] of children.entries()) {
        if (child === null) continue;
        walk(child, `${prefix}${String(name)}.`, depth + 1);
      }
    }
    visiting.delete(state);
  };
  walk(root, '', 0);
  return tensors;
}

function moduleState(module: PyValue): PyValue | undefined {
  if (module instanceof PersistentObject) return module.state;
  if (module instanceof ModuleObject) return module.state;
  return undefined;
}

function nonPersistentBuffers(value: PyValue | undefined): Set<string> {
  if (value instanceof PySet) return new Set(value.items.map(String));
  return new Set();
}

/** Every persistent class the pickle names (each would have run its module source in Python). */
export function persistentClasses(root: PyValue): { className: string; sourceBytes: number; source: string }[] {
  const found = new Map<string, { className: string; sourceBytes: number; source: string }>();
  const seen = new Set<object>();
  const stack: PyValue[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (value === null || typeof value !== 'object' || seen.has(value)) continue;
    seen.add(value);
    if (value instanceof PersistentObject) {
      const source = value.moduleSource;
      found.set(`${value.className}\0${source}`, { className: value.className, sourceBytes: new TextEncoder().encode(source).byteLength, source });
      stack.push(value.state ?? null);
    } else if (value instanceof ModuleObject) {
      stack.push(value.state ?? null);
    } else if (value instanceof PyDict) {
      for (const [, item] of value.entries()) stack.push(item);
    } else if (Array.isArray(value)) {
      stack.push(...value);
    } else if (value instanceof PyTuple || value instanceof PySet) {
      stack.push(...value.items);
    }
  }
  return [...found.values()];
}

/** A short description of a top-level value, for `inspect`. */
export function describeEntry(value: PyValue): string {
  if (value instanceof PersistentObject) return `persistent object of class ${value.className}`;
  if (value instanceof ModuleObject) return value.cls.qualifiedName;
  if (value instanceof PyDict) return `dict with ${value.size} entries`;
  return describeValue(value);
}
