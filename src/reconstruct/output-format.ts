/**
 * The writer for an output file, by the format its extension names (io/output-format.ts decides):
 * `.pkl` is an EDM2 pickle made from the template snapshot (pickle inputs only), `.safetensors`
 * is safetensors; and the file names outputs get in a folder.
 */
import { UsageError } from '../errors.js';
import type { AtomicOutputOptions } from '../io/atomic-output.js';
import { checkpointFormatOf } from '../io/output-format.js';
import type { OutputWriter } from '../io/output-writer.js';
import { Edm2PickleSource } from '../pytorch/edm2-pickle-source.js';
import { Edm2PickleWriter } from '../pytorch/edm2-pickle-writer.js';
import { SafetensorsWriter, type TensorSpec } from '../safetensors/writer.js';
import type { TensorSource } from '../tensors/tensor-source.js';
import { defaultOutputName } from './output-metadata.js';
import type { Target } from './targets.js';

/** Refuses, before any work, an unknown extension or a format the inputs cannot provide. */
export function checkOutputFormat(path: string, template: TensorSource): void {
  if (checkpointFormatOf(path) === 'edm2-pickle' && !(template instanceof Edm2PickleSource)) {
    throw new UsageError(`${path}: a .pkl output is an EDM2 pickle, written from EDM2 pickle snapshots only; ${template.path} is not one`,
      'name the output .safetensors');
  }
}

export interface OutputLayout {
  readonly tensors: readonly TensorSpec[];
  readonly metadata: Readonly<Record<string, string>>;
  /** The snapshot a pickle output copies everything but the network's tensors from. */
  readonly template: TensorSource;
}

export async function createOutputWriter(path: string, layout: OutputLayout, options: AtomicOutputOptions): Promise<OutputWriter> {
  if (checkpointFormatOf(path) === 'edm2-pickle') {
    checkOutputFormat(path, layout.template);
    return Edm2PickleWriter.create(path, layout.template as Edm2PickleSource, layout.tensors, options);
  }
  return SafetensorsWriter.create(path, { tensors: layout.tensors, metadata: layout.metadata }, options);
}

/**
 * An output's file name in a folder: for EDM2 pickle inputs the official tool's
 * `<prefix>-<kimg, 7 digits>-<std, 3 decimals>.pkl` (a std with more decimals keeps them all,
 * never rounded into another target's name), otherwise ema-synth's safetensors name.
 */
export function outputFileName(target: Target, time: number, pickles: boolean, prefix = 'phema'): string {
  if (!pickles) return defaultOutputName(target, time);
  // The official names exist for power targets only; other kinds keep ema-synth's name, as a pickle.
  if (target.kind !== 'power') return defaultOutputName(target, time).replace(/\.safetensors$/, '.pkl');
  const std = Number(target.sigmaRel.toFixed(3)) === target.sigmaRel ? target.sigmaRel.toFixed(3) : String(target.sigmaRel);
  return `${prefix}-${String(Math.floor(time / 1000)).padStart(7, '0')}-${std}.pkl`;
}
