/**
 * Every snapshot must hold the same tensor names, shapes and dtypes: a blend of mismatched files
 * is meaningless. Checked on headers alone, before any output is written.
 */
import { InputFileError } from '../errors.js';
import type { TensorEntry, TensorSource } from '../tensors/tensor-source.js';

export function checkSameLayout(reference: TensorSource, other: TensorSource): void {
  const expected = new Map(reference.tensors.map((t) => [t.name, t]));
  for (const tensor of other.tensors) {
    const twin = expected.get(tensor.name);
    if (twin === undefined) {
      throw new InputFileError(`${other.path}: tensor ${JSON.stringify(tensor.name)} is not in ${reference.path}`,
        'all snapshots in a folder must come from the same network; move other files elsewhere');
    }
    if (twin.dtype !== tensor.dtype) {
      throw new InputFileError(`${other.path}: tensor ${JSON.stringify(tensor.name)} is ${tensor.dtype}, but ${twin.dtype} in ${reference.path}`);
    }
    if (!sameShape(twin, tensor)) {
      throw new InputFileError(`${other.path}: tensor ${JSON.stringify(tensor.name)} has shape [${tensor.shape}], but [${twin.shape}] in ${reference.path}`);
    }
  }
  if (other.tensors.length !== reference.tensors.length) {
    const present = new Set(other.tensors.map((t) => t.name));
    const missing = reference.tensors.find((t) => !present.has(t.name));
    throw new InputFileError(`${other.path}: tensor ${JSON.stringify(missing?.name)} of ${reference.path} is missing`);
  }
}

function sameShape(a: TensorEntry, b: TensorEntry): boolean {
  return a.shape.length === b.shape.length && a.shape.every((dim, i) => dim === b.shape[i]);
}
