/**
 * A helper thread of the blend (see parallel.ts): receives the job's shared WebAssembly memory
 * once, instantiates the same kernels over it, then gets one message per batch (plain numbers:
 * addresses and the window's layout) and claims blocks of it until none are left
 * (work-claims.ts). It answers only when it fails. It does no I/O.
 */
import { parentPort } from 'node:worker_threads';
import { instantiateKernels, type BlendKernels } from './blend-kernels.js';
import { WorkControl, type ClaimWork } from './work-claims.js';

export interface InitMessage {
  readonly type: 'init';
  readonly memory: WebAssembly.Memory;
  /** The kernels, compiled once by the main thread. */
  readonly module: WebAssembly.Module;
  /** This thread's decode scratch in that memory. */
  readonly scratch: number;
  /** This thread's number (the main thread is 0) and the count, for the control words. */
  readonly thread: number;
  readonly threads: number;
  readonly control: number;
}

export interface BatchMessage extends ClaimWork {
  readonly type: 'batch';
}

export interface FailedMessage {
  readonly error: string;
}

let state: { kernels: BlendKernels; view: Float64Array; control: WorkControl; scratch: number; thread: number } | undefined;

parentPort?.on('message', (message: InitMessage | BatchMessage) => {
  if (message.type === 'init') {
    const buffer = message.memory.buffer;
    state = {
      kernels: instantiateKernels(message.memory, message.module), view: new Float64Array(buffer),
      control: new WorkControl(buffer, message.control, message.threads), scratch: message.scratch, thread: message.thread,
    };
    return;
  }
  try {
    if (state === undefined) throw new Error('batch before init');
    state.control.work(state.kernels, state.view, message, state.scratch, state.thread);
  } catch (error) {
    parentPort!.postMessage({ error: String((error as Error)?.stack ?? error) } satisfies FailedMessage);
  }
});
