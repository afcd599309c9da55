/**
 * Walks a pickle file opcode by opcode, in chunks, without interpreting it, and splits it into a
 * skeleton (every opcode except bytes payloads, small enough to unpickle in memory) and the
 * locations of its bytes payloads. Each payload becomes a NEXT_BUFFER in the skeleton and an
 * ExternalBytes value (file offset, length, first bytes), so a 3 GB snapshot whose tensors are
 * bytes objects is understood from a few megabytes; the tensor data is read later by offset.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { InputFileError } from '../errors.js';
import { ARGUMENT_LAYOUT, BYTES_OPCODES, OP, OPCODE_NAMES } from './pickle-opcodes.js';
import type { HostValue } from './pickle-values.js';

/** A bytes object left in the file. `head` holds its first bytes (all of it when short). */
export class ExternalBytes implements HostValue {
  readonly hostKind = 'bytes';
  constructor(
    /** Offset of the opcode that introduces the payload. */
    readonly opcodeOffset: number,
    /** Offset of the payload's first byte. */
    readonly dataOffset: number,
    readonly length: number,
    readonly head: Uint8Array,
  ) {}
}

export interface ScannedPickle {
  readonly skeleton: Uint8Array;
  readonly buffers: readonly ExternalBytes[];
  /** FRAME opcodes: offset of the opcode and the frame length it announces. */
  readonly frames: readonly { readonly offset: number; readonly length: number }[];
  /** Offset just after STOP; bytes after it are not part of the pickle. */
  readonly end: number;
  readonly fileSize: number;
}

/** Bytes of each payload kept in memory: enough for a legacy torch.save header. */
export const HEAD_BYTES = 4096;
/** Everything but tensor data: source code strings, names, numbers. A larger rest is not a snapshot. */
const MAX_SKELETON_BYTES = 256 * 1024 * 1024;
const MAX_LINE_BYTES = 64 * 1024;
const CHUNK_BYTES = 1 << 20;

export async function scanPickleFile(path: string): Promise<ScannedPickle> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw new InputFileError(`cannot read ${path}: ${(error as Error).message}`, undefined, error);
  }
  try {
    const reader = new ChunkReader(handle, (await handle.stat()).size, path);
    return await scan(reader, path);
  } finally {
    await handle.close();
  }
}

async function scan(reader: ChunkReader, path: string): Promise<ScannedPickle> {
  const skeleton = new GrowingBytes(path);
  const buffers: ExternalBytes[] = [];
  const frames: { offset: number; length: number }[] = [];
  for (;;) {
    const at = reader.position;
    const op = await reader.byte();
    const layout = ARGUMENT_LAYOUT.get(op);
    if (layout === undefined || op === OP.NEXT_BUFFER || op === OP.READONLY_BUFFER) {
      throw new InputFileError(`${path}: unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} (${OPCODE_NAMES.get(op) ?? 'unknown'}) at byte ${at}`);
    }
    if ('counted' in layout) {
      const lengthBytes = await reader.bytes(layout.counted);
      const length = readLength(lengthBytes, op, path, at);
      if (reader.position + length > reader.size) {
        throw new InputFileError(`${path}: truncated: the ${OPCODE_NAMES.get(op)} at byte ${at} announces ${length} bytes, but the file ends ${reader.size - reader.position} bytes later`);
      }
      if (BYTES_OPCODES.has(op)) {
        const dataOffset = reader.position;
        const head = await reader.bytes(Math.min(length, HEAD_BYTES));
        reader.skip(length - head.byteLength);
        buffers.push(new ExternalBytes(at, dataOffset, length, head));
        skeleton.push(Uint8Array.of(OP.NEXT_BUFFER));
      } else {
        skeleton.push(Uint8Array.of(op), lengthBytes, await reader.bytes(length));
      }
    } else if ('lines' in layout) {
      skeleton.push(Uint8Array.of(op));
      for (let i = 0; i < layout.lines; i++) skeleton.push(await reader.line());
    } else {
      const argument = await reader.bytes(layout.fixed);
      // Frames only group opcodes for buffering; the skeleton is smaller than they say, so they are left out.
      if (op === OP.FRAME) frames.push({ offset: at, length: readLength(argument, op, path, at) });
      else skeleton.push(Uint8Array.of(op), argument);
    }
    if (op === OP.STOP) return { skeleton: skeleton.bytes(), buffers, frames, end: reader.position, fileSize: reader.size };
  }
}

function readLength(bytes: Uint8Array, op: number, path: string, at: number): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const value = bytes.byteLength === 1 ? bytes[0] : bytes.byteLength === 4 ? view.getUint32(0, true) : view.getBigUint64(0, true);
  // BINSTRING and LONG4 lengths are signed; a negative one reads as a huge unsigned value and fails the size check.
  if (BigInt(value) > BigInt(Number.MAX_SAFE_INTEGER)) throw new InputFileError(`${path}: ${OPCODE_NAMES.get(op)} at byte ${at} has an impossible length ${value}`);
  return Number(value);
}

/** Sequential reads through a 1 MiB window; skip() moves past payloads without reading them. */
class ChunkReader {
  private buffer = new Uint8Array(CHUNK_BYTES);
  private start = 0;
  private filled = 0;
  position = 0;

  constructor(private readonly handle: FileHandle, readonly size: number, private readonly path: string) {}

  async byte(): Promise<number> {
    return (await this.bytes(1))[0];
  }

  async bytes(n: number): Promise<Uint8Array> {
    if (this.position + n > this.size) {
      throw new InputFileError(`${this.path}: truncated: needs ${n} more bytes at byte ${this.position}, the file has ${this.size - this.position}`);
    }
    if (n > MAX_SKELETON_BYTES) throw new InputFileError(`${this.path}: a ${n}-byte value at byte ${this.position} is too large for a snapshot's description`);
    const out = new Uint8Array(n);
    let done = 0;
    while (done < n) {
      if (this.position < this.start || this.position >= this.start + this.filled) await this.fill();
      const from = this.position - this.start;
      const take = Math.min(n - done, this.filled - from);
      out.set(this.buffer.subarray(from, from + take), done);
      done += take;
      this.position += take;
    }
    return out;
  }

  async line(): Promise<Uint8Array> {
    const parts: number[] = [];
    for (;;) {
      const value = await this.byte();
      parts.push(value);
      if (value === 0x0a) return Uint8Array.from(parts);
      if (parts.length > MAX_LINE_BYTES) throw new InputFileError(`${this.path}: text argument longer than ${MAX_LINE_BYTES} bytes at byte ${this.position}`);
    }
  }

  skip(n: number): void {
    this.position += n;
  }

  private async fill(): Promise<void> {
    this.start = this.position;
    const { bytesRead } = await this.handle.read(this.buffer, 0, this.buffer.byteLength, this.position);
    this.filled = bytesRead;
    if (bytesRead === 0) throw new InputFileError(`${this.path}: the file shrank while it was read`);
  }
}

class GrowingBytes {
  private buffer = new Uint8Array(1 << 16);
  private length = 0;

  constructor(private readonly path: string) {}

  push(...parts: Uint8Array[]): void {
    for (const part of parts) {
      if (this.length + part.byteLength > MAX_SKELETON_BYTES) throw new InputFileError(`${this.path}: more than ${MAX_SKELETON_BYTES} bytes besides tensor data; not a snapshot`);
      if (this.length + part.byteLength > this.buffer.byteLength) {
        const size = Math.max(this.buffer.byteLength * 2, this.length + part.byteLength);
        const grown = new Uint8Array(size);
        grown.set(this.buffer.subarray(0, this.length));
        this.buffer = grown;
      }
      this.buffer.set(part, this.length);
      this.length += part.byteLength;
    }
  }

  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}
