/**
 * The blend's second thread. When the machine has more than one core, a worker accumulates the
 * upper half of each window while the main thread does the lower half (and keeps the I/O going).
 * Both run the same WebAssembly kernels over the job's shared memory, so a batch costs one small
 * message of addresses each way.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { NonFiniteAt, RangeWork } from './accumulate-range.js';
import { kernelModule } from './blend-kernels.js';
import type { BatchMessage, DoneMessage, InitMessage } from './blend-worker.js';

export class BlendHelper {
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
  static start(memory: WebAssembly.Memory, scratch: number): BlendHelper {
    // The worker file sits beside this one: .js when built. Run from source (.ts, through tsx, as
    // the tests and the benchmark do), the worker must register tsx itself: it does not inherit
    // the loader hooks of the main thread.
    const extension = extname(fileURLToPath(import.meta.url));
    const url = new URL(`./blend-worker${extension}`, import.meta.url);
    const worker = extension === '.ts'
      ? new Worker(`import(${JSON.stringify(tsxApi())}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true })
      : new Worker(url);
    const helper = new BlendHelper(worker);
    helper.worker.postMessage({ type: 'init', memory, module: kernelModule(), scratch } satisfies InitMessage);
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
