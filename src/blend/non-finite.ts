/**
 * Names the snapshot behind a NaN or Inf in a blended window. The blend checks its accumulators
 * rather than every input value (K checks per element instead of N): a non-finite value in a
 * snapshot with a non-zero weight always leaves a non-finite sum (w * NaN is NaN, w * Inf is +-Inf,
 * and Inf - Inf is NaN), so only then are the contributing snapshots re-read at that one element,
 * in blend order, to find the file. A snapshot whose weight is zero in every target cannot reach
 * any output and is not examined.
 */
import { InputFileError, NumericalError } from '../errors.js';
import { decodeFloats } from '../safetensors/dtype-convert.js';
import { DTYPE_BYTES, type TensorSource } from '../tensors/tensor-source.js';
import type { Segment } from './windows.js';

export async function nonFiniteSourceError(
  sources: readonly TensorSource[], weights: readonly number[], segments: readonly Segment[], element: number,
  beforeRead: (source: TensorSource) => Promise<void>,
): Promise<InputFileError | NumericalError> {
  const segment = segments.find((s) => element >= s.windowOffset && element < s.windowOffset + s.count) ?? segments[0];
  const { name, inputDType } = segment.tensor;
  const index = segment.start + element - segment.windowOffset;
  const size = DTYPE_BYTES[inputDType];
  const bytes = new Uint8Array(size);
  const value = new Float64Array(1);
  for (let i = 0; i < sources.length; i++) {
    if (weights[i] === 0) continue;
    await beforeRead(sources[i]);
    await sources[i].read(name, index * size, bytes);
    decodeFloats(inputDType, bytes, value);
    if (!Number.isFinite(value[0])) {
      return new InputFileError(
        `${sources[i].path}: tensor ${JSON.stringify(name)} holds ${value[0]} at element ${index}`,
        'one non-finite snapshot would poison every output; remove the file, or pass --allow-nonfinite to proceed anyway',
      );
    }
  }
  return new NumericalError(`tensor ${JSON.stringify(name)} element ${index}: the weighted sum of finite snapshot values left the float64 range`);
}
