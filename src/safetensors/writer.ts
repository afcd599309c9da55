import { OutputError } from '../errors.js';
import { AtomicOutput, type AtomicOutputOptions } from '../io/atomic-output.js';
import type { OutputWriter } from '../io/output-writer.js';
import { DTYPE_BYTES, elementCount, isDType, type DType } from '../tensors/tensor-source.js';

export interface TensorSpec {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export interface SafetensorsLayout {
  readonly tensors: readonly TensorSpec[];
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Where each tensor goes, relative to the start of the data section, in write order. */
export interface PlannedTensor extends TensorSpec {
  readonly begin: number;
  readonly end: number;
}

/**
 * Builds the header bytes exactly as the reference library does: `__metadata__` first (when
 * present), then the tensors with dtype, shape and data_offsets; compact JSON padded with spaces
 * so the data section starts on an 8-byte boundary. Tensors are laid out in the order given.
 */
export function encodeHeader(layout: SafetensorsLayout, path: string): { bytes: Uint8Array; planned: PlannedTensor[]; dataLength: number } {
  // Built part by part: a JS object would enumerate integer-like names ("0", "12") first.
  const parts: string[] = [];
  const metadataEntries = Object.entries(layout.metadata ?? {});
  for (const [key, value] of metadataEntries) {
    if (typeof value !== 'string') throw new OutputError(`${path}: metadata ${JSON.stringify(key)} must be a string, got ${typeof value}`);
  }
  if (metadataEntries.length > 0) {
    parts.push(`"__metadata__":{${metadataEntries.map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`);
  }
  const planned: PlannedTensor[] = [];
  const names = new Set<string>();
  let offset = 0;
  for (const tensor of layout.tensors) {
    checkSpec(tensor, names, path);
    names.add(tensor.name);
    const length = elementCount(tensor.shape) * DTYPE_BYTES[tensor.dtype];
    if (!Number.isSafeInteger(offset + length)) throw new OutputError(`${path}: tensors hold more than 2^53 bytes`);
    planned.push({ name: tensor.name, dtype: tensor.dtype, shape: [...tensor.shape], begin: offset, end: offset + length });
    const entry = { dtype: tensor.dtype, shape: [...tensor.shape], data_offsets: [offset, offset + length] };
    parts.push(`${JSON.stringify(tensor.name)}:${JSON.stringify(entry)}`);
    offset += length;
  }
  const json = new TextEncoder().encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  return { bytes, planned, dataLength: offset };
}

function checkSpec(tensor: TensorSpec, names: ReadonlySet<string>, path: string): void {
  const name = JSON.stringify(tensor.name);
  if (tensor.name === '__metadata__' || names.has(tensor.name)) {
    throw new OutputError(`${path}: tensor name ${name} is ${tensor.name === '__metadata__' ? 'reserved' : 'used twice'}`);
  }
  if (!isDType(tensor.dtype)) throw new OutputError(`${path}: tensor ${name}: unknown dtype ${JSON.stringify(tensor.dtype)}`);
  for (const dim of tensor.shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw new OutputError(`${path}: tensor ${name}: shape ${JSON.stringify(tensor.shape)} must hold non-negative integers`);
    }
  }
}

/**
 * Streams a safetensors file: the header is written at once, then the caller appends each
 * tensor's bytes in layout order (any chunk sizes). commit() checks the byte count, fsyncs and
 * moves the file into place; until then nothing exists at the final path.
 */
export class SafetensorsWriter implements OutputWriter {
  private constructor(
    private readonly output: AtomicOutput,
    readonly tensors: readonly PlannedTensor[],
    readonly dataLength: number,
    private readonly headerBytes: number,
  ) {}

  static async create(finalPath: string, layout: SafetensorsLayout, options: AtomicOutputOptions = {}): Promise<SafetensorsWriter> {
    const { bytes, planned, dataLength } = encodeHeader(layout, finalPath);
    const output = await AtomicOutput.create(finalPath, options);
    await output.write(bytes); // aborts the output itself on failure
    return new SafetensorsWriter(output, planned, dataLength, bytes.byteLength);
  }

  get path(): string {
    return this.output.finalPath;
  }

  /** Data bytes accepted so far. */
  get dataWritten(): number {
    return this.output.bytesWritten - this.headerBytes;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.dataWritten + bytes.byteLength > this.dataLength) {
      await this.output.abort();
      throw new OutputError(`${this.path}: ${this.dataWritten + bytes.byteLength} data bytes written, more than the ${this.dataLength} the header describes`);
    }
    await this.output.write(bytes);
  }

  async commit(): Promise<void> {
    if (this.dataWritten !== this.dataLength) {
      const missing = this.dataLength - this.dataWritten;
      await this.output.abort();
      throw new OutputError(`${this.path}: only ${this.dataWritten} of ${this.dataLength} data bytes were written (${missing} missing); the file was not created`);
    }
    await this.output.commit();
  }

  abort(): Promise<void> {
    return this.output.abort();
  }
}

export interface TensorWithData extends TensorSpec {
  readonly data: Uint8Array;
}

/** Writes a small file whose tensors are all in memory. */
export async function writeSafetensorsFile(
  path: string,
  tensors: readonly TensorWithData[],
  metadata: Readonly<Record<string, string>> = {},
  options: AtomicOutputOptions = {},
): Promise<void> {
  const writer = await SafetensorsWriter.create(path, { tensors, metadata }, options);
  try {
    for (const tensor of tensors) {
      const expected = elementCount(tensor.shape) * DTYPE_BYTES[tensor.dtype];
      if (tensor.data.byteLength !== expected) {
        throw new OutputError(`${path}: tensor ${JSON.stringify(tensor.name)} has ${tensor.data.byteLength} bytes of data, its shape needs ${expected}`);
      }
      await writer.write(tensor.data);
    }
    await writer.commit();
  } finally {
    await writer.abort();
  }
}
