/**
 * Finds the state dict (names -> tensors) inside an unpickled checkpoint: the top level itself,
 * or the nested dict the user names with --key (`ema`, `state_dict`, or a dotted path `a.b`).
 */
import { InputFileError } from '../errors.js';
import { PyDict, describeValue, type PyValue } from './pickle-values.js';
import { TensorRef } from './torch-globals.js';

export interface NamedTensorRef {
  readonly name: string;
  readonly tensor: TensorRef;
}

/** Returns the tensors of the selected state dict in the file's order. */
export function selectStateDict(root: PyValue, key: string | undefined, source: string): NamedTensorRef[] {
  if (key === undefined) {
    const flat = asFlatTensorDict(root);
    if (flat) return flat;
    if (!(root instanceof PyDict)) {
      throw new InputFileError(`${source} holds a ${describeValue(root)}, not a dict of tensors`);
    }
    const candidates = [...root.entries()].filter(([, value]) => asFlatTensorDict(value)).map(([k]) => String(k));
    throw new InputFileError(
      `${source} is not a flat name -> tensor dict; its top-level keys are: ${listKeys(root)}`,
      candidates.length > 0
        ? `select the state dict with --key, e.g. --key ${candidates[0]}`
        : 'select a nested state dict with --key <name>',
    );
  }
  const selected = lookup(root, key);
  if (selected === undefined) {
    throw new InputFileError(
      `${source} has no key "${key}" (--key); available keys: ${root instanceof PyDict ? listKeys(root) : describeValue(root)}`,
    );
  }
  const flat = asFlatTensorDict(selected);
  if (!flat) {
    throw new InputFileError(
      `${source}: --key ${key} selects a ${describeValue(selected)}, not a flat name -> tensor dict` +
        (selected instanceof PyDict ? `; its keys are: ${listKeys(selected)}` : ''),
    );
  }
  return flat;
}

/** The key itself first (keys may contain dots), then a dotted path through nested dicts. */
function lookup(root: PyValue, key: string): PyValue | undefined {
  if (!(root instanceof PyDict)) return undefined;
  const direct = root.get(key);
  if (direct !== undefined) return direct;
  let node: PyValue | undefined = root;
  for (const part of key.split('.')) {
    if (!(node instanceof PyDict)) return undefined;
    node = node.get(part);
  }
  return node;
}

function asFlatTensorDict(value: PyValue | undefined): NamedTensorRef[] | undefined {
  if (!(value instanceof PyDict) || value.size === 0) return undefined;
  const tensors: NamedTensorRef[] = [];
  for (const [name, tensor] of value.entries()) {
    if (typeof name !== 'string' || !(tensor instanceof TensorRef)) return undefined;
    tensors.push({ name, tensor });
  }
  return tensors;
}

function listKeys(dict: PyDict): string {
  const parts: string[] = [];
  for (const [key, value] of dict.entries()) {
    if (parts.length === 30) {
      parts.push(`... (${dict.size - 30} more)`);
      break;
    }
    const tensors = value instanceof PyDict ? [...value.entries()].filter(([, v]) => v instanceof TensorRef).length : 0;
    const kind = value instanceof TensorRef ? 'tensor' : value instanceof PyDict ? `dict, ${tensors} tensors` : describeValue(value);
    parts.push(`${typeof key === 'string' ? key : String(describeValue(key))} (${kind})`);
  }
  return parts.join(', ');
}
