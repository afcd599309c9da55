/**
 * Writes a reconstruction as an EDM2 pickle, as the official tool does: the template snapshot's
 * pickle unchanged except for the network's storage payloads, which receive the tensor bytes
 * streamed in (blended parameters, the latest snapshot's buffers). Everything else (other keys,
 * module sources, frames) is copied from the template file in chunks, never held whole.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { InputFileError, OutputError } from '../errors.js';
import { AtomicOutput, type AtomicOutputOptions } from '../io/atomic-output.js';
import type { OutputWriter } from '../io/output-writer.js';
import { planPickleEdits, type OutputTensor, type Segment } from './edm2-pickle-edits.js';
import type { Edm2PickleSource } from './edm2-pickle-source.js';

const COPY_BYTES = 1 << 20;

export class Edm2PickleWriter implements OutputWriter {
  private next = 0;
  /** Bytes of the current tensor segment still expected. */
  private remaining = 0;
  private current = '';

  private constructor(
    private readonly output: AtomicOutput,
    private readonly template: FileHandle,
    private readonly templatePath: string,
    private readonly segments: readonly Segment[],
  ) {}

  /** `tensors` in the order their bytes will arrive, which must be the template's file order. */
  static async create(finalPath: string, template: Edm2PickleSource, tensors: readonly OutputTensor[], options: AtomicOutputOptions = {}): Promise<Edm2PickleWriter> {
    const segments = planPickleEdits(template.layout, tensors, finalPath, template.path);
    const handle = await open(template.path, 'r').catch((error: unknown) => {
      throw new InputFileError(`cannot read ${template.path}: ${(error as Error).message}`, undefined, error);
    });
    try {
      if ((await handle.stat()).size !== template.layout.scan.fileSize) throw new InputFileError(`${template.path} changed size since it was read`);
      const output = await AtomicOutput.create(finalPath, options);
      return new Edm2PickleWriter(output, handle, template.path, segments);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  get path(): string {
    return this.output.finalPath;
  }

  async write(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.byteLength) {
      if (this.remaining === 0) await this.advance();
      if (this.remaining === 0) {
        await this.abort();
        throw new OutputError(`${this.path}: more tensor bytes arrived than the network's storages hold`);
      }
      const take = Math.min(this.remaining, bytes.byteLength - done);
      await this.output.write(bytes.subarray(done, done + take));
      this.remaining -= take;
      done += take;
    }
  }

  async commit(): Promise<void> {
    try {
      if (this.remaining === 0) await this.advance();
      if (this.remaining > 0) throw new OutputError(`${this.path}: the bytes of tensor ${this.current} were not all written; the file was not created`);
      await this.output.commit();
    } catch (error) {
      await this.abort();
      throw error;
    } finally {
      await this.template.close().catch(() => undefined);
    }
  }

  async abort(): Promise<void> {
    await this.output.abort();
    await this.template.close().catch(() => undefined);
  }

  /** Emits template bytes and replacement headers up to the next tensor (or the end). */
  private async advance(): Promise<void> {
    while (this.next < this.segments.length) {
      const segment = this.segments[this.next++];
      if (segment.kind === 'tensor') {
        this.remaining = segment.length;
        this.current = segment.name;
        if (segment.length > 0) return;
      } else if (segment.kind === 'bytes') {
        await this.output.write(segment.bytes);
      } else {
        await this.copy(segment.from, segment.to);
      }
    }
  }

  private async copy(from: number, to: number): Promise<void> {
    const buffer = new Uint8Array(Math.min(COPY_BYTES, to - from));
    for (let at = from; at < to; ) {
      const piece = buffer.subarray(0, Math.min(buffer.byteLength, to - at));
      const { bytesRead } = await this.template.read(piece, 0, piece.byteLength, at);
      if (bytesRead === 0) throw new InputFileError(`${this.templatePath} ended early while it was copied; was it changed?`);
      await this.output.write(piece.subarray(0, bytesRead));
      at += bytesRead;
    }
  }
}
