/**
 * Splits a blend into windows of at most `chunkElements` elements, in output order. A window is
 * a run of consecutive float tensors (or pieces of one large tensor), so that a model of many small
 * tensors costs few reads per snapshot; a non-float tensor is a copy window of its own.
 */
import type { PlannedTensor } from './blend-plan.js';

export interface Segment {
  readonly tensor: PlannedTensor;
  /** First element of the tensor in this segment, and how many. */
  readonly start: number;
  readonly count: number;
  /** Where the segment sits inside the window's buffers. */
  readonly windowOffset: number;
}

export interface Window {
  readonly mode: 'blend' | 'copy';
  readonly segments: readonly Segment[];
  readonly elements: number;
}

export function* planWindows(plan: readonly PlannedTensor[], chunkElements: number): Generator<Window> {
  let segments: Segment[] = [];
  let filled = 0;
  function* flush(): Generator<Window> {
    if (segments.length > 0) yield { mode: 'blend', segments, elements: filled };
    segments = [];
    filled = 0;
  }
  for (const tensor of plan) {
    if (tensor.mode === 'copy') {
      yield* flush();
      for (let start = 0; start < tensor.elements || (start === 0 && tensor.elements === 0); start += chunkElements) {
        const count = Math.min(chunkElements, tensor.elements - start);
        yield { mode: 'copy', segments: [{ tensor, start, count, windowOffset: 0 }], elements: count };
        if (tensor.elements === 0) break;
      }
      continue;
    }
    let start = 0;
    do {
      if (filled === chunkElements) yield* flush();
      const count = Math.min(chunkElements - filled, tensor.elements - start);
      segments.push({ tensor, start, count, windowOffset: filled });
      filled += count;
      start += count;
    } while (start < tensor.elements);
  }
  yield* flush();
}
