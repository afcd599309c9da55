/**
 * A read-only zip reader over positional reads, enough for PyTorch checkpoints (which torch.save
 * writes as a zip of stored, 64-byte aligned entries). Only the central directory is held in
 * memory; entry bytes are read on demand, so multi-gigabyte checkpoints never sit in memory.
 * Every entry read is checked against its CRC-32 as its bytes arrive (zip-crc.ts): once all of an
 * entry has been read, a mismatch (bytes changed in transit or on disk) fails the read naming it.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { InputFileError } from '../errors.js';
import { readCentralDirectory, type ZipEntry } from './zip-central-directory.js';
import { inputError } from '../io/input-error.js';
import { EntryCrc } from './zip-crc.js';

export type { ZipEntry };

const LOCAL_SIGNATURE = 0x04034b50;

export class ZipArchive {
  private handle: Promise<FileHandle> | undefined;
  private readonly dataOffsets = new Map<string, number>();
  private readonly checksums = new Map<string, EntryCrc>();

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
      throw inputError(path, 'cannot open', error);
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
    if (entry.compressedSize !== entry.uncompressedSize) {
      throw new InputFileError(
        `${this.path}: stored zip entry ${entry.name} claims ${entry.uncompressedSize} bytes but occupies ${entry.compressedSize}`,
      );
    }
    if (offset < 0 || offset + target.byteLength > entry.uncompressedSize) {
      throw new InputFileError(
        `${this.path}: read of ${target.byteLength} bytes at ${offset} is outside zip entry ${entry.name} (${entry.uncompressedSize} bytes)`,
      );
    }
    const start = (await this.dataOffset(entry)) + offset;
    await this.readAt(start, target, entry.name);
    this.checkCrc(entry, offset, target);
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

  private checkCrc(entry: ZipEntry, offset: number, bytes: Uint8Array): void {
    let checksum = this.checksums.get(entry.name);
    if (checksum === undefined) {
      checksum = new EntryCrc(entry.uncompressedSize, entry.crc32);
      this.checksums.set(entry.name, checksum);
    }
    const outcome = checksum.add(offset, bytes);
    if (outcome.kind === 'mismatch') {
      const hex = (value: number): string => value.toString(16).padStart(8, '0');
      throw new InputFileError(
        `${this.path}: zip entry ${entry.name} fails its CRC-32 check (stored ${hex(entry.crc32)}, computed ${hex(outcome.computed)}): the file is corrupt`,
        'the bytes changed after the checkpoint was saved (an interrupted copy or download, or a disk error); copy it again',
      );
    }
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
      throw inputError(this.path, 'cannot reopen', error);
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
