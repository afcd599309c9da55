/**
 * The blend's helper threads. Besides the main thread (which also keeps the I/O going), each
 * helper worker claims blocks of every batch (work-claims.ts). All run the same WebAssembly kernels
 * over the job's shared memory, so a batch costs one small message of addresses per helper, and
 * no answer unless a helper fails.
 */
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { kernelModule } from './blend-kernels.js';
import type { BatchMessage, FailedMessage, InitMessage } from './blend-worker.js';
import type { ClaimWork } from './work-claims.js';

export class BlendHelpers {
  /** Rejects with the first failure of any helper; never resolves. */
  readonly failure: Promise<never>;

  private constructor(private readonly workers: readonly Worker[]) {
    this.failure = new Promise<never>((_, reject) => {
      for (const worker of workers) {
        worker.unref();
        worker.on('message', (message: FailedMessage) => reject(new Error(`blend worker: ${message.error}`)));
        worker.on('error', reject);
        worker.on('exit', (code) => reject(new Error(`blend worker exited with code ${code}`)));
      }
    });
    // Seen by whoever races against it; unobserved (a clean run) it must not count as unhandled.
    this.failure.catch(() => undefined);
  }

  /**
   * Starts one helper per `scratch` address (each decodes into its own area of the memory); helper
   * h is thread h + 1 of `scratch.length + 1` for the control words at `control`.
   */
  static start(memory: WebAssembly.Memory, scratch: readonly number[], control: number): BlendHelpers {
    const module = kernelModule();
    const workers = scratch.map((area, h) => {
      const worker = startWorker();
      worker.postMessage({ type: 'init', memory, module, scratch: area, thread: h + 1, threads: scratch.length + 1, control } satisfies InitMessage);
      return worker;
    });
    return new BlendHelpers(workers);
  }

  /** Wakes every helper to claim blocks of this batch. */
  post(work: ClaimWork): void {
    for (const worker of this.workers) worker.postMessage({ type: 'batch', ...work } satisfies BatchMessage);
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map(async (worker) => {
      worker.removeAllListeners('exit');
      await worker.terminate();
    }));
  }
}

function startWorker(): Worker {
  // The worker file sits beside this one: .js when built. Run from source (.ts, through tsx, as
  // the tests do), the worker must register tsx itself: it does not inherit the loader hooks of
  // the main thread.
  const extension = extname(fileURLToPath(import.meta.url));
  const url = new URL(`./blend-worker${extension}`, import.meta.url);
  return extension === '.ts'
    ? new Worker(`import(${JSON.stringify(tsxApi())}).then((api) => { api.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true })
    : new Worker(url);
}

/** tsx's API resolved from here, so an eval'd worker finds it whatever the current folder is. */
function tsxApi(): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch {
    return 'tsx/esm/api';
  }
}
