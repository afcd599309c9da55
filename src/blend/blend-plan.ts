/**
 * What a blend writes: for each tensor of the snapshot layout, whether it is blended (floating
 * point) or copied (integer and bool buffers, from the latest snapshot used), and its output dtype.
 */
import { elementCount, isFloatDType, type DType, type TensorEntry } from '../tensors/tensor-source.js';

/** `same` keeps each tensor's own dtype; the others apply to floating-point tensors only. */
export type OutputDTypeChoice = 'same' | 'f32' | 'f16' | 'bf16';

export interface PlannedTensor {
  readonly name: string;
  readonly inputDType: DType;
  readonly outputDType: DType;
  readonly shape: readonly number[];
  readonly elements: number;
  readonly mode: 'blend' | 'copy';
}

const CHOICE_DTYPE: Record<Exclude<OutputDTypeChoice, 'same'>, DType> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

/** `copied` names float tensors that are counters (copied from the latest snapshot, not blended). */
export function planTensors(layout: readonly TensorEntry[], choice: OutputDTypeChoice, copied: ReadonlySet<string> = new Set()): PlannedTensor[] {
  return layout.map((tensor) => {
    const blended = isFloatDType(tensor.dtype) && !copied.has(tensor.name);
    return {
      name: tensor.name,
      inputDType: tensor.dtype,
      outputDType: blended && choice !== 'same' ? CHOICE_DTYPE[choice] : tensor.dtype,
      shape: tensor.shape,
      elements: elementCount(tensor.shape),
      mode: blended ? 'blend' : 'copy',
    };
  });
}
