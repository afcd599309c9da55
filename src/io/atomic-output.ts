import { link, lstat, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OutputError } from '../errors.js';
import { outputError } from './output-error.js';
import { registerTempFile, tempPathFor, unregisterTempFile } from './temp-registry.js';

export interface AtomicOutputOptions {
  /** Replace an existing file at the final path. Without it an existing file is never touched. */
  readonly force?: boolean;
}

const BUFFER_BYTES = 1 << 20;
const DIRECT_WRITE_BYTES = 1 << 16;
/** Filesystems without hard links answer link() with one of these; we fall back to a checked rename. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EMLINK']);

/**
 * A file that appears at its final path complete or not at all: bytes go to a hidden temporary
 * file in the same folder, which commit() fsyncs and moves into place. Without `force` the move is
 * link()+unlink(): link fails with EEXIST if the final path exists, atomically, so two concurrent
 * writers can never both "win" or interleave. Any failure removes the temporary file.
 */
export class AtomicOutput {
  private buffer = new Uint8Array(BUFFER_BYTES);
  private buffered = 0;
  private position = 0;
  private state: 'open' | 'committed' | 'aborted' = 'open';

  private constructor(
    readonly finalPath: string,
    readonly tempPath: string,
    private readonly handle: FileHandle,
    private readonly force: boolean,
  ) {}

  static async create(finalPath: string, options: AtomicOutputOptions = {}): Promise<AtomicOutput> {
    const force = options.force ?? false;
    await checkOutputAvailable(finalPath, force);
    const tempPath = tempPathFor(finalPath);
    let handle: FileHandle;
    try {
      handle = await open(tempPath, 'wx');
    } catch (error) {
      throw outputError(finalPath, 'create a temporary file in its folder', error);
    }
    registerTempFile(tempPath);
    return new AtomicOutput(finalPath, tempPath, handle, force);
  }

  /** Bytes accepted so far (buffered or on disk). */
  get bytesWritten(): number {
    return this.position + this.buffered;
  }

  /** Appends bytes. The caller may reuse `bytes` as soon as the promise resolves. */
  async write(bytes: Uint8Array): Promise<void> {
    this.assertOpen();
    if (bytes.byteLength >= DIRECT_WRITE_BYTES) {
      // Large pieces (a blend window) go straight to the file: copying them through the buffer
      // cost as much CPU as the arithmetic that made them.
      await this.flush();
      await this.writeThrough(bytes);
      return;
    }
    if (this.buffered + bytes.byteLength <= this.buffer.byteLength) {
      this.buffer.set(bytes, this.buffered);
      this.buffered += bytes.byteLength;
      if (this.buffered === this.buffer.byteLength) await this.flush();
      return;
    }
    await this.flush();
    if (bytes.byteLength >= this.buffer.byteLength) await this.writeThrough(bytes);
    else {
      this.buffer.set(bytes, 0);
      this.buffered = bytes.byteLength;
    }
  }

  /** Flushes, fsyncs and moves the file into place; afterwards no temporary file remains. */
  async commit(): Promise<void> {
    this.assertOpen();
    await this.flush();
    try {
      await this.handle.sync();
      await this.handle.close();
    } catch (error) {
      await this.abort();
      throw outputError(this.finalPath, 'flush the file to disk', error);
    }
    try {
      await (this.force ? rename(this.tempPath, this.finalPath) : moveNoReplace(this.tempPath, this.finalPath));
    } catch (error) {
      await this.abort();
      throw outputError(this.finalPath, 'move the finished file into place', error);
    }
    this.state = 'committed';
    unregisterTempFile(this.tempPath);
    await syncFolder(dirname(this.finalPath));
  }

  /** Discards the temporary file; safe to call more than once and after failures. */
  async abort(): Promise<void> {
    if (this.state !== 'open') return;
    this.state = 'aborted';
    await this.handle.close().catch(() => undefined);
    await unlink(this.tempPath).catch(() => undefined);
    unregisterTempFile(this.tempPath);
  }

  private async flush(): Promise<void> {
    if (this.buffered === 0) return;
    const pending = this.buffer.subarray(0, this.buffered);
    this.buffered = 0;
    await this.writeThrough(pending);
  }

  private async writeThrough(bytes: Uint8Array): Promise<void> {
    try {
      let done = 0;
      while (done < bytes.byteLength) {
        const { bytesWritten } = await this.handle.write(bytes, done, bytes.byteLength - done, this.position);
        done += bytesWritten;
        this.position += bytesWritten;
      }
    } catch (error) {
      await this.abort();
      throw outputError(this.finalPath, 'write', error);
    }
  }

  private assertOpen(): void {
    if (this.state !== 'open') {
      throw new OutputError(`${this.finalPath}: the output was already ${this.state}`);
    }
  }
}

/** Refuses early (before any work) when the final path exists without `force`, or its folder is missing. */
export async function checkOutputAvailable(finalPath: string, force: boolean): Promise<void> {
  const folder = dirname(finalPath);
  try {
    if (!(await stat(folder)).isDirectory()) throw Object.assign(new Error('not a folder'), { code: 'ENOTDIR' });
  } catch (error) {
    throw outputError(finalPath, 'write into its folder', error);
  }
  if (force) return;
  const existing = await lstat(finalPath).catch(() => undefined);
  if (existing !== undefined) {
    throw new OutputError(`${finalPath}: the output file already exists`, 'use --force to replace it');
  }
}

/** Writes a small file atomically in one go. */
export async function writeFileAtomic(finalPath: string, data: Uint8Array | string, options: AtomicOutputOptions = {}): Promise<void> {
  const output = await AtomicOutput.create(finalPath, options);
  try {
    await output.write(typeof data === 'string' ? new TextEncoder().encode(data) : data);
    await output.commit();
  } finally {
    await output.abort();
  }
}

async function moveNoReplace(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (!NO_HARD_LINKS.has(code)) throw error;
    // No hard links here: check, then rename. A concurrent writer could slip in between; the
    // window is tiny and only exists on such filesystems.
    if (await lstat(to).then(() => true, () => false)) {
      throw Object.assign(new Error('exists'), { code: 'EEXIST' });
    }
    await rename(from, to);
    return;
  }
  await unlink(from).catch(() => undefined);
}

/** Makes the new directory entry durable; some filesystems refuse to fsync folders, which is harmless. */
async function syncFolder(folder: string): Promise<void> {
  try {
    const handle = await open(folder, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Durability of the rename is best effort.
  }
}
