/**
 * Moving float32 tensors between memory and safetensors files, the glue between the trainer's
 * Float32Arrays and the project's safetensors reader/writer.
 */
import { InputFileError } from '../errors.js';
import { decodeFloats, encodeFloats } from '../safetensors/dtype-convert.js';
import type { TensorWithData } from '../safetensors/writer.js';
import { elementCount, isFloatDType, type TensorSource } from '../tensors/tensor-source.js';

export interface FloatTensor {
  readonly shape: number[];
  readonly data: Float32Array;
}

/** A tensor ready for writeSafetensorsFile, stored as F32 (exact) or F16 (rounded to nearest even). */
export function encodeTensor(name: string, shape: readonly number[], data: Float32Array, dtype: 'F32' | 'F16' = 'F32'): TensorWithData {
  if (dtype === 'F32') {
    const copy = Float32Array.from(data);
    return { name, dtype, shape: [...shape], data: new Uint8Array(copy.buffer) };
  }
  const bytes = new Uint8Array(data.length * 2);
  encodeFloats('F16', Float64Array.from(data), bytes);
  return { name, dtype, shape: [...shape], data: bytes };
}

/** Reads every floating-point tensor of a source as float32 (F16/BF16/F64 converted). */
export async function readFloatTensors(source: TensorSource): Promise<Map<string, FloatTensor>> {
  const result = new Map<string, FloatTensor>();
  for (const entry of source.tensors) {
    if (!isFloatDType(entry.dtype)) continue;
    const bytes = new Uint8Array(entry.byteLength);
    await source.read(entry.name, 0, bytes);
    const values = new Float64Array(elementCount(entry.shape));
    decodeFloats(entry.dtype, bytes, values);
    result.set(entry.name, { shape: [...entry.shape], data: Float32Array.from(values) });
  }
  return result;
}

export function requireTensor(tensors: ReadonlyMap<string, FloatTensor>, name: string, path: string): FloatTensor {
  const tensor = tensors.get(name);
  if (tensor === undefined) {
    throw new InputFileError(`${path}: tensor ${JSON.stringify(name)} is missing`, 'the file was not written by this version of ema-synth train, or for another network config');
  }
  return tensor;
}
