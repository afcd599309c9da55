/**
 * The blend's helper threads. Besides the main thread (which also keeps the I/O going), each
 * helper worker accumulates its share of every window. All run the same WebAssembly kernels over
 * the job's shared memory, so a batch costs one small message of addresses each way per helper.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { NonFiniteAt, RangeWork } from './accumulate-range.js';
import { kernelModule } from './blend-kernels.js';
import type { BatchMessage, DoneMessage, InitMessage } from './blend-worker.js';

/** A team of helper workers, one per decode scratch area given. */
export class BlendHelpers {
  private constructor(private readonly helpers: readonly BlendHelper[]) {}

  /** Starts one helper per `scratch` address (each decodes into its own area of the memory). */
  static start(memory: WebAssembly.Memory, scratch: readonly number[]): BlendHelpers {
    const module = kernelModule();
    return new BlendHelpers(scratch.map((area) => BlendHelper.start(memory, module, area)));
  }

  get size(): number {
    return this.helpers.length;
  }

  /** Runs shares[h] on helper h (fewer shares than helpers leaves the rest idle); results in the same order. */
  run(shares: readonly RangeWork[]): Promise<(NonFiniteAt | undefined)[]> {
    if (shares.length > this.helpers.length) return Promise.reject(new RangeError(`${shares.length} shares for ${this.helpers.length} helpers`));
    // allSettled, then the first failure: no helper is left working when the caller moves on.
    return Promise.allSettled(shares.map((share, h) => this.helpers[h].run(share))).then((results) => results.map((result) => {
      if (result.status === 'rejected') throw result.reason;
      return result.value;
    }));
  }

  async close(): Promise<void> {
    await Promise.all(this.helpers.map((helper) => helper.close()));
  }
}

class BlendHelper {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (result: NonFiniteAt | undefined) => void; reject: (error: Error) => void }>();
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.unref();
    worker.on('message', (message: DoneMessage) => {
      const entry = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.error === undefined) entry?.resolve(message.nonFinite);
      else entry?.reject(new Error(`blend worker: ${message.error}`));
    });
    const fail = (error: Error): void => {
      this.failure ??= error;
      for (const entry of this.waiting.values()) entry.reject(this.failure);
      this.waiting.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`blend worker exited with code ${code}`)));
  }

  /** A helper thread working in this shared memory, decoding into its own `scratch` there. */
  static start(memory: WebAssembly.Memory, module: WebAssembly.Module, scratch: number): BlendHelper {
    // The worker file sits beside this one: .js when built. Run from source (.ts, through tsx, as
    // the tests do), the worker must register tsx itself: it does not inherit the loader hooks of
    // the main thread.
    const extension = extname(fileURLToPath(import.meta.url));
    const url = new URL(`./blend-worker${extension}`, import.meta.url);
    const worker = extension === '.ts'
      ? new Worker(`import(${JSON.stringify(tsxApi())}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true })
      : new Worker(url);
    const helper = new BlendHelper(worker);
    helper.worker.postMessage({ type: 'init', memory, module, scratch } satisfies InitMessage);
    return helper;
  }

  /** Runs one batch on the worker; resolves with the first non-finite sum it found, if checking. */
  run(work: RangeWork): Promise<NonFiniteAt | undefined> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<NonFiniteAt | undefined>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'batch', id, ...work } satisfies BatchMessage);
    });
  }

  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    await this.worker.terminate();
  }
}

/** tsx's API resolved from here, so an eval'd worker finds it whatever the current folder is. */
function tsxApi(): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return 'tsx/esm/api';
  }
}
