/**
 * A read-only zip reader over positional reads, enough for PyTorch checkpoints (which torch.save
 * writes as a zip of stored, 64-byte aligned entries). Only the central directory is held in
 * memory; entry bytes are read on demand, so multi-gigabyte checkpoints never sit in memory.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { InputFileError } from '../errors.js';

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored; anything else is compressed and cannot be streamed by position. */
  readonly method: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;
/** Central directories beyond this are not checkpoints we should trust with our memory. */
const MAX_CENTRAL_DIRECTORY_BYTES = 256 * 1024 * 1024;

export class ZipArchive {
  private handle: Promise<FileHandle> | undefined;
  private readonly dataOffsets = new Map<string, number>();

  private constructor(
    readonly path: string,
    readonly fileSize: number,
    readonly entries: ReadonlyMap<string, ZipEntry>,
    handle: FileHandle,
  ) {
    this.handle = Promise.resolve(handle);
  }

  /** Opens `path` and reads its central directory; throws InputFileError if it is not a zip. */
  static async open(path: string): Promise<ZipArchive> {
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      throw new InputFileError(`cannot open ${path}: ${(error as Error).message}`, undefined, error);
    }
    try {
      const fileSize = (await handle.stat()).size;
      const entries = await readCentralDirectory(handle, path, fileSize);
      return new ZipArchive(path, fileSize, entries, handle);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Reads `target.byteLength` bytes of a stored entry starting `offset` bytes into it. */
  async read(entry: ZipEntry, offset: number, target: Uint8Array): Promise<void> {
    if (entry.method !== 0) {
      throw new InputFileError(
        `${this.path}: zip entry ${entry.name} is compressed (method ${entry.method}); only stored entries can be read in place`,
        'torch.save writes stored entries; re-save the checkpoint with torch.save instead of re-zipping it',
      );
    }
    if (offset < 0 || offset + target.byteLength > entry.uncompressedSize) {
      throw new InputFileError(
        `${this.path}: read of ${target.byteLength} bytes at ${offset} is outside zip entry ${entry.name} (${entry.uncompressedSize} bytes)`,
      );
    }
    const start = (await this.dataOffset(entry)) + offset;
    await this.readAt(start, target, entry.name);
  }

  /** Reads a whole stored entry; for small records like data.pkl only (capped by `maxBytes`). */
  async readAll(entry: ZipEntry, maxBytes: number): Promise<Uint8Array> {
    if (entry.uncompressedSize > maxBytes) {
      throw new InputFileError(
        `${this.path}: zip entry ${entry.name} is ${entry.uncompressedSize} bytes, more than the ${maxBytes} allowed`,
      );
    }
    const bytes = new Uint8Array(entry.uncompressedSize);
    await this.read(entry, 0, bytes);
    return bytes;
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle) await (await handle).close();
  }

  private async dataOffset(entry: ZipEntry): Promise<number> {
    const known = this.dataOffsets.get(entry.name);
    if (known !== undefined) return known;
    const header = new Uint8Array(30);
    await this.readAt(entry.localHeaderOffset, header, entry.name);
    const view = new DataView(header.buffer);
    if (view.getUint32(0, true) !== LOCAL_SIGNATURE) {
      throw new InputFileError(`${this.path}: zip entry ${entry.name} has no local header at ${entry.localHeaderOffset}`);
    }
    // Sizes in the local header may be zero (data descriptors); only the name and extra lengths are used.
    const start = entry.localHeaderOffset + 30 + view.getUint16(26, true) + view.getUint16(28, true);
    if (start + entry.compressedSize > this.fileSize) {
      throw new InputFileError(
        `${this.path}: zip entry ${entry.name} extends past the end of the file (truncated download?)`,
      );
    }
    this.dataOffsets.set(entry.name, start);
    return start;
  }

  private async readAt(position: number, target: Uint8Array, what: string): Promise<void> {
    // Reopened lazily after close() (sources may be pooled); one shared promise avoids double opens.
    this.handle ??= open(this.path, 'r').catch((error: unknown) => {
      this.handle = undefined;
      throw new InputFileError(`cannot reopen ${this.path}: ${(error as Error).message}`, undefined, error);
    });
    const handle = await this.handle;
    let done = 0;
    while (done < target.byteLength) {
      const { bytesRead } = await handle.read(target, done, target.byteLength - done, position + done);
      if (bytesRead === 0) {
        throw new InputFileError(`${this.path}: file ends inside zip entry ${what} (truncated?)`);
      }
      done += bytesRead;
    }
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<DataView> {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(bytes, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return new DataView(bytes.buffer, 0, done);
}

async function readCentralDirectory(handle: FileHandle, path: string, fileSize: number): Promise<Map<string, ZipEntry>> {
  const notZip = (why: string): InputFileError => new InputFileError(`${path} is not a readable zip archive: ${why}`);
  if (fileSize < EOCD_MIN) throw notZip(`only ${fileSize} bytes`);
  const tailLength = Math.min(fileSize, EOCD_MIN + MAX_COMMENT);
  const tailStart = fileSize - tailLength;
  const tail = await readAt(handle, tailStart, tailLength);
  let eocd = -1;
  for (let i = tail.byteLength - EOCD_MIN; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD_SIGNATURE) { eocd = i; break; }
  }
  if (eocd < 0) throw notZip('no end-of-central-directory record');
  let count = tail.getUint16(eocd + 10, true);
  let cdSize = tail.getUint32(eocd + 12, true);
  let cdOffset = tail.getUint32(eocd + 16, true);
  if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || tail.getUint32(locator, true) !== ZIP64_LOCATOR_SIGNATURE) {
      throw notZip('zip64 fields without a zip64 locator');
    }
    const zip64Offset = Number(tail.getBigUint64(locator + 8, true));
    const record = await readAt(handle, zip64Offset, 56);
    if (record.byteLength < 56 || record.getUint32(0, true) !== ZIP64_EOCD_SIGNATURE) {
      throw notZip(`no zip64 end-of-central-directory record at ${zip64Offset}`);
    }
    count = safeNumber(record.getBigUint64(32, true), path);
    cdSize = safeNumber(record.getBigUint64(40, true), path);
    cdOffset = safeNumber(record.getBigUint64(48, true), path);
  }
  if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES || cdOffset + cdSize > fileSize) {
    throw notZip(`central directory (${cdSize} bytes at ${cdOffset}) does not fit in the ${fileSize}-byte file`);
  }
  const cd = await readAt(handle, cdOffset, cdSize);
  const entries = new Map<string, ZipEntry>();
  const decoder = new TextDecoder();
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > cd.byteLength || cd.getUint32(p, true) !== CENTRAL_SIGNATURE) {
      throw notZip(`central directory entry ${i} is malformed`);
    }
    const method = cd.getUint16(p + 10, true);
    let compressedSize = cd.getUint32(p + 20, true);
    let uncompressedSize = cd.getUint32(p + 24, true);
    const nameLength = cd.getUint16(p + 28, true);
    const extraLength = cd.getUint16(p + 30, true);
    const commentLength = cd.getUint16(p + 32, true);
    let localHeaderOffset = cd.getUint32(p + 42, true);
    const end = p + 46 + nameLength + extraLength + commentLength;
    if (end > cd.byteLength) throw notZip(`central directory entry ${i} runs past the directory`);
    const name = decoder.decode(new Uint8Array(cd.buffer, cd.byteOffset + p + 46, nameLength));
    // Zip64 extra field: only the fields saturated in the fixed part are present, in this order.
    let q = p + 46 + nameLength;
    const extraEnd = q + extraLength;
    while (q + 4 <= extraEnd) {
      const id = cd.getUint16(q, true);
      const size = cd.getUint16(q + 2, true);
      if (id === 0x0001) {
        let r = q + 4;
        const next = (): number => {
          if (r + 8 > q + 4 + size) throw notZip(`zip64 extra field of ${name} is too short`);
          const value = safeNumber(cd.getBigUint64(r, true), path);
          r += 8;
          return value;
        };
        if (uncompressedSize === 0xffffffff) uncompressedSize = next();
        if (compressedSize === 0xffffffff) compressedSize = next();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = next();
      }
      q += 4 + size;
    }
    if (localHeaderOffset + 30 > fileSize) throw notZip(`entry ${name} starts past the end of the file`);
    entries.set(name, { name, method, compressedSize, uncompressedSize, localHeaderOffset });
    p = end;
  }
  return entries;
}

function safeNumber(value: bigint, path: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new InputFileError(`${path}: zip offset ${value} is too large`);
  }
  return Number(value);
}
