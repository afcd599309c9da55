/**
 * Plans an EDM2 pickle written from a template snapshot: the template's bytes in order, with each
 * network tensor's storage payload replaced by a new one (same legacy header, the storage class
 * renamed when the dtype changes, new data) and every FRAME length adjusted by what its frame
 * gained. Pure: the template's layout in, a list of segments out; the writer streams them.
 */
import { OutputError } from '../errors.js';
import { DTYPE_BYTES, elementCount, type DType } from '../tensors/tensor-source.js';
import type { Edm2PickleLayout } from './edm2-pickle-source.js';
import { OP } from './pickle-opcodes.js';
import { STORAGE_DTYPES } from './torch-globals.js';

export type Segment =
  | { readonly kind: 'copy'; readonly from: number; readonly to: number }
  | { readonly kind: 'bytes'; readonly bytes: Uint8Array }
  | { readonly kind: 'tensor'; readonly name: string; readonly length: number };

export interface OutputTensor {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
}

export function planPickleEdits(layout: Edm2PickleLayout, outputs: readonly OutputTensor[], path: string, templatePath: string): Segment[] {
  const fail = (message: string): never => {
    throw new OutputError(`${path}: cannot write an EDM2 pickle from ${templatePath}: ${message}`, 'write --out FILE.safetensors instead');
  };
  if (outputs.length !== layout.tensors.length) fail(`${outputs.length} output tensors for ${layout.tensors.length} in the template`);
  const payloads = new Set<number>();
  const edits: { at: number; end: number; head: Uint8Array; name: string; length: number }[] = [];
  for (const [i, out] of outputs.entries()) {
    const tensor = layout.tensors[i];
    const { storage, ref, entry } = tensor;
    if (entry.name !== out.name) fail(`tensor ${i} is ${out.name}, but ${entry.name} in the template's file order`);
    if (payloads.has(storage.payload.opcodeOffset)) fail(`tensor ${entry.name} shares its storage with another tensor`);
    payloads.add(storage.payload.opcodeOffset);
    const numel = elementCount(out.shape);
    if (ref.offset !== 0 || numel !== storage.numel) fail(`tensor ${entry.name} covers part of its storage only`);
    const className = storageClass(out.dtype) ?? fail(`no torch storage class for dtype ${out.dtype}`);
    const header = renameStorageClass(storage.payload.head.subarray(0, storage.headerLength), storage.storageClass, className, entry.name, fail);
    const length = numel * DTYPE_BYTES[out.dtype];
    const payloadLength = header.byteLength + length;
    const opcode = bytesOpcode(payloadLength);
    edits.push({ at: storage.payload.opcodeOffset, end: storage.payload.dataOffset + storage.payload.length, head: concat(opcode, header), name: entry.name, length });
  }
  // Frames grow or shrink by the change of the payloads inside them.
  const frameEdits = layout.scan.frames.map((frame) => {
    const contentStart = frame.offset + 9;
    const contentEnd = contentStart + frame.length;
    let delta = 0;
    for (const edit of edits) {
      if (edit.at >= contentStart && edit.at < contentEnd) delta += edit.head.byteLength + edit.length - (edit.end - edit.at);
    }
    const bytes = new Uint8Array(9);
    bytes[0] = OP.FRAME;
    new DataView(bytes.buffer).setBigUint64(1, BigInt(frame.length + delta), true);
    return { at: frame.offset, end: frame.offset + 9, bytes };
  });
  const all = [
    ...edits.map((e) => ({ at: e.at, end: e.end, segments: [{ kind: 'bytes', bytes: e.head } as Segment, { kind: 'tensor', name: e.name, length: e.length } as Segment] })),
    ...frameEdits.map((f) => ({ at: f.at, end: f.end, segments: [{ kind: 'bytes', bytes: f.bytes } as Segment] })),
  ].sort((a, b) => a.at - b.at);
  const segments: Segment[] = [];
  let position = 0;
  for (const edit of all) {
    if (edit.at > position) segments.push({ kind: 'copy', from: position, to: edit.at });
    segments.push(...edit.segments);
    position = edit.end;
  }
  segments.push({ kind: 'copy', from: position, to: layout.scan.fileSize });
  return segments;
}

function storageClass(dtype: DType): string | undefined {
  return Object.entries(STORAGE_DTYPES).find(([name, d]) => d === dtype && name !== 'UntypedStorage')?.[0];
}

/** The payload opcode Python's pickler picks for this length (protocol 4). */
function bytesOpcode(length: number): Uint8Array {
  if (length < 256) return Uint8Array.of(OP.SHORT_BINBYTES, length);
  if (length <= 0xffffffff) {
    const bytes = new Uint8Array(5);
    bytes[0] = OP.BINBYTES;
    new DataView(bytes.buffer).setUint32(1, length, true);
    return bytes;
  }
  const bytes = new Uint8Array(9);
  bytes[0] = OP.BINBYTES8;
  new DataView(bytes.buffer).setBigUint64(1, BigInt(length), true);
  return bytes;
}

/** The header names its storage class once, as the GLOBAL `torch\n<Class>\n`. */
function renameStorageClass(header: Uint8Array, from: string, to: string, tensor: string, fail: (message: string) => never): Uint8Array {
  if (from === to) return header;
  const encoder = new TextEncoder();
  const old = encoder.encode(`ctorch\n${from}\n`);
  const at = indexOf(header, old);
  if (at < 0) fail(`the storage header of tensor ${tensor} does not name torch.${from} as expected`);
  return concat(header.subarray(0, at), encoder.encode(`ctorch\n${to}\n`), header.subarray(at + old.byteLength));
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.byteLength <= haystack.byteLength; i++) {
    for (let j = 0; j < needle.byteLength; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
