/**
 * The helper thread of the blend (see parallel.ts): receives the shared accumulators once, then one
 * message per batch naming the shared read buffers and the element range to accumulate, and answers
 * when done. It does no I/O.
 */
import { parentPort } from 'node:worker_threads';
import { accumulateRange, BLOCK, type NonFiniteAt, type SegmentShape } from './accumulate-range.js';
import { RawBuffer } from './decode-block.js';

export interface InitMessage {
  readonly type: 'init';
  readonly accumulators: readonly SharedArrayBuffer[];
}

export interface BatchMessage {
  readonly type: 'batch';
  readonly id: number;
  readonly segments: readonly SegmentShape[];
  readonly offsets: readonly (readonly number[])[];
  readonly buffers: readonly SharedArrayBuffer[];
  readonly weights: readonly Float64Array[];
  readonly count: number;
  readonly from: number;
  readonly to: number;
  readonly check: boolean;
}

export interface DoneMessage {
  readonly id: number;
  readonly nonFinite?: NonFiniteAt;
  readonly error?: string;
}

let accumulators: Float64Array[] = [];
const views = new Map<SharedArrayBuffer, RawBuffer>();
const values = Array.from({ length: 8 }, () => new Float64Array(BLOCK));

function view(buffer: SharedArrayBuffer): RawBuffer {
  let raw = views.get(buffer);
  if (raw === undefined) {
    raw = new RawBuffer(buffer);
    views.set(buffer, raw);
  }
  return raw;
}

parentPort?.on('message', (message: InitMessage | BatchMessage) => {
  if (message.type === 'init') {
    accumulators = message.accumulators.map((buffer) => new Float64Array(buffer));
    views.clear();
    return;
  }
  try {
    const nonFinite = accumulateRange({ ...message, raw: message.buffers.map(view), accumulators }, values);
    parentPort!.postMessage({ id: message.id, nonFinite } satisfies DoneMessage);
  } catch (error) {
    parentPort!.postMessage({ id: message.id, error: String((error as Error)?.stack ?? error) } satisfies DoneMessage);
  }
});
