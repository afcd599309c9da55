import { DTYPE_BYTES, isDType, type DType, type TensorEntry } from '../tensors/tensor-source.js';
import { SafetensorsHeaderError } from './header-error.js';
import { scanJson } from './json-scan.js';
import { describe, firstBadUtf8, isPlainObject, quote, short } from './header-text.js';

/** The reference implementation's limit; a header this large is an attack, not a model. */
export const MAX_HEADER_BYTES = 100_000_000;
/** Real headers nest 3 deep (top level, entry, shape). Anything much deeper is hostile. */
const MAX_JSON_DEPTH = 16;
/** Arrays hold shapes and offsets only; no tensor has anywhere near this many dimensions. */
const MAX_ARRAY_LENGTH = 1024;
const METADATA_KEY = '__metadata__';
const ENTRY_FIELDS = new Set(['dtype', 'shape', 'data_offsets']);

/** A tensor as stored: `begin`/`end` are byte offsets relative to the start of the data section. */
export interface SafetensorsTensor extends TensorEntry {
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  /** N, the JSON header's byte length. */
  readonly headerLength: number;
  /** 8 + N: where the data section starts in the file. */
  readonly dataStart: number;
  /** Tensors in data-offset order. */
  readonly tensors: readonly SafetensorsTensor[];
  readonly metadata: Readonly<Record<string, string>>;
}

/**
 * Validates the 8-byte little-endian header length against the limit and the file size before
 * anything is allocated from it. `prefix` holds at least the file's first 8 bytes (when the file has them).
 */
export function readHeaderLength(prefix: Uint8Array, fileSize: number, path: string): number {
  if (fileSize < 8 || prefix.byteLength < 8) {
    throw new SafetensorsHeaderError(path, 'file-too-short',
      `the file has ${fileSize} bytes, fewer than the 8-byte header length`);
  }
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const length = view.getBigUint64(0, true);
  if (length === 0n) {
    throw new SafetensorsHeaderError(path, 'header-length-zero', 'the header length is 0, expected a JSON header of at least 2 bytes');
  }
  if (length > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsHeaderError(path, 'header-length-too-large',
      `the header length is ${length} bytes, more than the limit of ${MAX_HEADER_BYTES} bytes`,
      'this is not a safetensors file, or it is corrupted');
  }
  if (length > BigInt(fileSize - 8)) {
    throw new SafetensorsHeaderError(path, 'header-length-beyond-file',
      `the header length is ${length} bytes but the file has only ${fileSize - 8} bytes after the length field`);
  }
  return Number(length);
}

/** Parses and validates a whole header from the start of a file (pure: no I/O, for tests and fuzzing). */
export function parseSafetensorsHeader(fileStart: Uint8Array, fileSize: number, path: string): SafetensorsHeader {
  const headerLength = readHeaderLength(fileStart, fileSize, path);
  if (fileStart.byteLength < 8 + headerLength) {
    throw new RangeError(`parseSafetensorsHeader needs the first ${8 + headerLength} bytes of ${path}`);
  }
  const json = fileStart.subarray(8, 8 + headerLength);
  const dataLength = fileSize - 8 - headerLength;
  return { headerLength, dataStart: 8 + headerLength, ...parseHeaderJson(json, dataLength, path) };
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes and validates the JSON header; `dataLength` is the size of the data section in the file. */
export function parseHeaderJson(json: Uint8Array, dataLength: number, path: string)
  : { tensors: SafetensorsTensor[]; metadata: Record<string, string> } {
  let text: string;
  try {
    text = utf8.decode(json);
  } catch {
    throw new SafetensorsHeaderError(path, 'invalid-utf8', `the header is not valid UTF-8 (first bad byte near offset ${firstBadUtf8(json)})`);
  }
  const scan = scanJson(text, MAX_JSON_DEPTH, MAX_ARRAY_LENGTH);
  if (scan.tooDeep) {
    throw new SafetensorsHeaderError(path, 'nesting-too-deep', `the header JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (scan.longArray !== undefined) {
    const where = scan.longArray.within === undefined ? '' : ` (under key ${quote(scan.longArray.within)})`;
    throw new SafetensorsHeaderError(path, 'array-too-long', `the header holds an array of more than ${MAX_ARRAY_LENGTH} elements${where}; shapes have at most a few dimensions`);
  }
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new SafetensorsHeaderError(path, 'invalid-json', `the header is not valid JSON (${reason.slice(0, 200)})`);
  }
  if (!isPlainObject(root)) {
    throw new SafetensorsHeaderError(path, 'not-an-object', `the header is ${describe(root)}, expected a JSON object`);
  }
  if (scan.duplicate !== undefined) {
    const where = scan.duplicate.within === undefined ? 'at the top level' : `in entry ${quote(scan.duplicate.within)}`;
    throw new SafetensorsHeaderError(path, 'duplicate-key', `key ${quote(scan.duplicate.key)} appears twice ${where}`);
  }
  let metadata: Record<string, string> = {};
  const tensors: SafetensorsTensor[] = [];
  for (const [name, value] of Object.entries(root)) {
    if (name === METADATA_KEY) metadata = parseMetadata(value, path);
    else tensors.push(parseEntry(name, value, dataLength, path));
  }
  return { tensors: checkLayout(tensors, dataLength, path), metadata };
}

function parseMetadata(value: unknown, path: string): Record<string, string> {
  if (!isPlainObject(value)) {
    throw new SafetensorsHeaderError(path, 'bad-metadata', `${METADATA_KEY} is ${describe(value)}, expected an object of strings`);
  }
  const entries = Object.entries(value);
  for (const [key, item] of entries) {
    if (typeof item !== 'string') {
      throw new SafetensorsHeaderError(path, 'bad-metadata', `${METADATA_KEY} key ${quote(key)} is ${describe(item)}, expected a string`);
    }
  }
  // fromEntries defines own properties, so a key like "__proto__" stays data.
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseEntry(name: string, value: unknown, dataLength: number, path: string): SafetensorsTensor {
  const fail = (rule: ConstructorParameters<typeof SafetensorsHeaderError>[1], detail: string): never => {
    throw new SafetensorsHeaderError(path, rule, `tensor ${quote(name)}: ${detail}`);
  };
  if (!isPlainObject(value)) return fail('bad-entry', `the entry is ${describe(value)}, expected an object with dtype, shape and data_offsets`);
  for (const field of ENTRY_FIELDS) {
    if (!Object.hasOwn(value, field)) fail('bad-entry', `the entry has no "${field}"`);
  }
  for (const field of Object.keys(value)) {
    if (!ENTRY_FIELDS.has(field)) fail('bad-entry', `unexpected field ${quote(field)}, expected only dtype, shape and data_offsets`);
  }
  const dtype = value.dtype;
  if (!isDType(dtype)) {
    return fail('unknown-dtype', `dtype ${short(dtype)} is not one of ${Object.keys(DTYPE_BYTES).join(', ')}`);
  }
  const shape = value.shape;
  if (!Array.isArray(shape)) return fail('bad-shape', `shape is ${describe(shape)}, expected an array of non-negative integers`);
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const dim: unknown = shape[i];
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      fail('bad-shape', `shape[${i}] is ${short(dim)}, expected a non-negative integer below 2^53`);
    }
    count *= dim as number;
  }
  const byteLength = count * DTYPE_BYTES[dtype as DType];
  if (!Number.isSafeInteger(byteLength)) {
    fail('bad-shape', `shape ${short(shape)} holds more than 2^53 bytes`);
  }
  const offsets = value.data_offsets;
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    return fail('bad-offsets', `data_offsets is ${short(offsets)}, expected [begin, end]`);
  }
  const [begin, end] = offsets as unknown[];
  for (const [label, offset] of [['begin', begin], ['end', end]] as const) {
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
      fail('bad-offsets', `data_offsets ${label} is ${short(offset)}, expected a non-negative integer below 2^53`);
    }
  }
  const b = begin as number;
  const e = end as number;
  if (b > e) fail('bad-offsets', `data_offsets [${b}, ${e}] ends before it begins`);
  if (e - b !== byteLength) {
    fail('size-mismatch', `data_offsets [${b}, ${e}] span ${e - b} bytes but ${dtype} shape ${short(shape)} needs ${byteLength}`);
  }
  if (e > dataLength) {
    throw new SafetensorsHeaderError(path, 'truncated',
      `tensor ${quote(name)}: data_offsets end ${e} is beyond the ${dataLength}-byte data section: the file looks truncated`);
  }
  return { name, dtype, shape: shape as number[], byteLength, begin: b, end: e };
}

/** Sorts by offset and requires the tensors to tile the data section exactly, as the spec demands. */
function checkLayout(tensors: SafetensorsTensor[], dataLength: number, path: string): SafetensorsTensor[] {
  const order = tensors.map((_, index) => index);
  order.sort((a, b) => tensors[a].begin - tensors[b].begin || tensors[a].end - tensors[b].end || a - b);
  const sorted = order.map((index) => tensors[index]);
  let position = 0;
  let previous: SafetensorsTensor | undefined;
  for (const tensor of sorted) {
    if (tensor.begin < position) {
      throw new SafetensorsHeaderError(path, 'overlap',
        `tensor ${quote(tensor.name)} [${tensor.begin}, ${tensor.end}] overlaps tensor ${quote(previous!.name)} [${previous!.begin}, ${previous!.end}]`);
    }
    if (tensor.begin > position) {
      const after = previous === undefined ? 'the start of the data section' : `tensor ${quote(previous.name)} (ends at ${position})`;
      throw new SafetensorsHeaderError(path, 'gap',
        `gap of ${tensor.begin - position} bytes between ${after} and tensor ${quote(tensor.name)} (begins at ${tensor.begin})`);
    }
    position = tensor.end;
    previous = tensor;
  }
  if (position !== dataLength) {
    throw new SafetensorsHeaderError(path, 'trailing-data',
      `the data section has ${dataLength} bytes but the tensors cover only ${position}: ${dataLength - position} bytes at the end belong to no tensor`);
  }
  return sorted;
}
