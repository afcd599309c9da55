/**
 * The one abstraction every reader serves and every consumer (blend engine, inspect, train) uses:
 * a file of named tensors that can be read in chunks by position, never as a whole.
 *
 * Bytes are always little-endian and laid out exactly as in safetensors (row-major, contiguous),
 * whatever the file format behind the source.
 */

/** Element types. Names and byte sizes follow the safetensors spec. */
export type DType =
  | 'F64' | 'F32' | 'F16' | 'BF16'
  | 'I64' | 'I32' | 'I16' | 'I8'
  | 'U64' | 'U32' | 'U16' | 'U8'
  | 'BOOL';

export const DTYPE_BYTES: Readonly<Record<DType, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1,
  BOOL: 1,
};

export const FLOAT_DTYPES: ReadonlySet<DType> = new Set<DType>(['F64', 'F32', 'F16', 'BF16']);

export function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_BYTES, value);
}

export function isFloatDType(dtype: DType): boolean {
  return FLOAT_DTYPES.has(dtype);
}

/** A tensor's description. `byteLength` = product(shape) * DTYPE_BYTES[dtype]; shape [] is a scalar. */
export interface TensorEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly byteLength: number;
}

export interface TensorSource {
  /** The file this source reads (for error messages). */
  readonly path: string;
  /** Tensors in storage order. */
  readonly tensors: readonly TensorEntry[];
  /** String metadata (`__metadata__` in safetensors); empty object when there is none. */
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * Tensors that are module state rather than trained weights (PyTorch buffers), when the format
   * tells: a reconstruction copies them from the latest snapshot instead of blending them.
   */
  readonly bufferNames?: ReadonlySet<string>;
  /**
   * Fills `target` with `target.byteLength` bytes of tensor `name`, starting `byteOffset` bytes into
   * the tensor. Throws an InputFileError naming the file and tensor if the range is outside the
   * tensor or the file is shorter than its header promised.
   */
  read(name: string, byteOffset: number, target: Uint8Array): Promise<void>;
  /** Releases the file handle; further reads reopen it (sources may be pooled). */
  close(): Promise<void>;
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}
