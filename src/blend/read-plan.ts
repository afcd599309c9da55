/**
 * How one snapshot's part of a window is read: segments that lie next to each other in the file
 * (consecutive tensors of one layout, the usual case) are fetched with one positional read, so a
 * window of hundreds of small tensors costs one system call per snapshot. Each run lands in the
 * buffer at an offset congruent to its file position modulo 8, so a tensor aligned in the file is
 * aligned for typed-array views in the buffer.
 */
import { DTYPE_BYTES, type TensorSource } from '../tensors/tensor-source.js';
import type { Segment } from './windows.js';

/** What the safetensors reader offers beyond TensorSource: reads by absolute file position. */
interface PositionalSource extends TensorSource {
  absoluteOffset(name: string): number;
  readAt(position: number, target: Uint8Array): Promise<void>;
}

export interface SourceReads {
  /** Byte offset of each segment's first byte inside the buffer. */
  readonly segmentOffsets: readonly number[];
  /** Buffer bytes needed. */
  readonly bytes: number;
  /** Fills `buffer` (at least `bytes` long). */
  read(buffer: Uint8Array): Promise<void>;
}

const ALIGN = 8;

function isPositional(source: TensorSource): source is PositionalSource {
  const candidate = source as Partial<PositionalSource>;
  return typeof candidate.absoluteOffset === 'function' && typeof candidate.readAt === 'function';
}

/** Room reserved for a window of `elements` read as runs: the data plus alignment slack per segment. */
export function readBufferBytes(segments: readonly Segment[]): number {
  let bytes = 0;
  for (const segment of segments) bytes += segment.count * DTYPE_BYTES[segment.tensor.inputDType] + 2 * ALIGN;
  return bytes;
}

export function planSourceReads(source: TensorSource, segments: readonly Segment[]): SourceReads {
  return isPositional(source) ? coalescedReads(source, segments) : tensorReads(source, segments);
}

function coalescedReads(source: PositionalSource, segments: readonly Segment[]): SourceReads {
  const segmentOffsets: number[] = [];
  const runs: { position: number; offset: number; length: number }[] = [];
  let bytes = 0;
  for (const segment of segments) {
    const size = DTYPE_BYTES[segment.tensor.inputDType];
    const position = source.absoluteOffset(segment.tensor.name) + segment.start * size;
    const length = segment.count * size;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.position + last.length === position) {
      segmentOffsets.push(last.offset + last.length);
      last.length += length;
    } else {
      const offset = Math.ceil(bytes / ALIGN) * ALIGN + (position % ALIGN);
      segmentOffsets.push(offset);
      runs.push({ position, offset, length });
    }
    const run = runs[runs.length - 1];
    bytes = run.offset + run.length;
  }
  return {
    segmentOffsets,
    bytes,
    read: async (buffer) => {
      await Promise.all(runs.map((run) => (run.length === 0 ? undefined : source.readAt(run.position, buffer.subarray(run.offset, run.offset + run.length)))));
    },
  };
}

/** Any other TensorSource: one read per segment, each at an aligned offset. */
function tensorReads(source: TensorSource, segments: readonly Segment[]): SourceReads {
  const segmentOffsets: number[] = [];
  let bytes = 0;
  for (const segment of segments) {
    segmentOffsets.push(bytes);
    bytes += Math.ceil((segment.count * DTYPE_BYTES[segment.tensor.inputDType]) / ALIGN) * ALIGN;
  }
  return {
    segmentOffsets,
    bytes,
    read: async (buffer) => {
      await Promise.all(segments.map((segment, s) => {
        const size = DTYPE_BYTES[segment.tensor.inputDType];
        return source.read(segment.tensor.name, segment.start * size, buffer.subarray(segmentOffsets[s], segmentOffsets[s] + segment.count * size));
      }));
    },
  };
}
