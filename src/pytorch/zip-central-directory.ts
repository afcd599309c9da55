/**
 * The zip central directory (PKWARE APPNOTE 4.3.12-4.3.16): end record, zip64 end record and
 * locator, one entry per file with zip64 extra fields. Read once when an archive is opened.
 */
import type { FileHandle } from 'node:fs/promises';
import { InputFileError } from '../errors.js';

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored; anything else is compressed and cannot be streamed by position. */
  readonly method: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
  /** CRC-32 of the entry's uncompressed bytes, as the central directory states it. */
  readonly crc32: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const EOCD_MIN = 22;
const MAX_COMMENT = 0xffff;
/** Central directories beyond this are not checkpoints we should trust with our memory. */
const MAX_CENTRAL_DIRECTORY_BYTES = 256 * 1024 * 1024;

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

export async function readCentralDirectory(handle: FileHandle, path: string, fileSize: number): Promise<Map<string, ZipEntry>> {
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
    const crc32 = cd.getUint32(p + 16, true);
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
    entries.set(name, { name, method, compressedSize, uncompressedSize, localHeaderOffset, crc32 });
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
