/**
 * Which format an output file gets, from its extension: ema-synth writes what the name says or
 * refuses, never silently another format (`--out model.pt` must not hold safetensors).
 * Each table maps a lower-case extension to a format; a new writer adds its extension here.
 */
import { extname } from 'node:path';
import { UsageError } from '../errors.js';

/** Checkpoint outputs of reconstruct, convert and sweep. */
export type CheckpointFormat = 'safetensors' | 'edm2-pickle';
export const CHECKPOINT_FORMATS: Readonly<Record<string, CheckpointFormat>> = {
  '.safetensors': 'safetensors',
  /** EDM2's own pickle format, written from EDM2 pickle snapshots only (reconstruct/output-format.ts). */
  '.pkl': 'edm2-pickle',
};

/** Image outputs of sample. */
export type ImageFormat = 'png' | 'jpeg';
export const IMAGE_FORMATS: Readonly<Record<string, ImageFormat>> = {
  '.png': 'png',
  '.jpg': 'jpeg',
  '.jpeg': 'jpeg',
};

export function checkpointFormatOf(file: string, flag = '--out'): CheckpointFormat {
  return formatByExtension(file, flag, CHECKPOINT_FORMATS, 'checkpoint');
}

export function imageFormatOf(file: string, flag = '--out'): ImageFormat {
  return formatByExtension(file, flag, IMAGE_FORMATS, 'image');
}

/**
 * The format `formats` maps the file's extension to; otherwise a UsageError listing the supported
 * extensions. `flag` names where the file was given ('' for a positional argument).
 */
export function formatByExtension<F extends string>(file: string, flag: string, formats: Readonly<Record<string, F>>, what: string): F {
  const extension = extname(file).toLowerCase();
  const format = Object.hasOwn(formats, extension) ? formats[extension] : undefined;
  if (format !== undefined) return format;
  const named = flag === '' ? file : `${flag} ${file}`;
  throw new UsageError(
    extension === '' ? `${named}: the file name has no extension to tell the ${what} format` : `${named}: ema-synth does not write ${extension} ${what}s`,
    `supported extensions: ${Object.keys(formats).join(', ')}`,
  );
}
