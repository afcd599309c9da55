/**
 * A helper thread of the blend (see parallel.ts): receives the job's shared WebAssembly memory
 * once, instantiates the same kernels over it, then gets one message per batch (plain numbers:
 * addresses and element range) and answers when done. It does no I/O.
 */
import { parentPort } from 'node:worker_threads';
import { accumulateRange, type NonFiniteAt, type RangeWork } from './accumulate-range.js';
import { instantiateKernels, type BlendKernels } from './blend-kernels.js';

export interface InitMessage {
  readonly type: 'init';
  readonly memory: WebAssembly.Memory;
  /** The kernels, compiled once by the main thread. */
  readonly module: WebAssembly.Module;
  /** This thread's decode scratch in that memory. */
  readonly scratch: number;
}

export interface BatchMessage extends RangeWork {
  readonly type: 'batch';
  readonly id: number;
}

export interface DoneMessage {
  readonly id: number;
  readonly nonFinite?: NonFiniteAt;
  readonly error?: string;
}

let state: { kernels: BlendKernels; view: Float64Array; scratch: number } | undefined;

parentPort?.on('message', (message: InitMessage | BatchMessage) => {
  if (message.type === 'init') {
    state = { kernels: instantiateKernels(message.memory, message.module), view: new Float64Array(message.memory.buffer), scratch: message.scratch };
    return;
  }
  try {
    if (state === undefined) throw new Error('batch before init');
    const nonFinite = accumulateRange(state.kernels, state.view, message, state.scratch);
    parentPort!.postMessage({ id: message.id, nonFinite } satisfies DoneMessage);
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: String((error as Error)?.stack ?? error) } satisfies DoneMessage);
  }
});
