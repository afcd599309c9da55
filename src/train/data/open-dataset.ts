import { UsageError } from '../../errors.js';
import { BUILTIN_DATASETS, createShapesDataset } from './builtin-shapes.js';
import type { ImageDataset } from './dataset.js';
import { loadImageFolder } from './image-folder.js';

/** `--data builtin:NAME` or a folder. Built-in sets need a resolution (default 16). */
export async function openDataset(spec: string, resolution: number | undefined): Promise<ImageDataset> {
  if (spec.startsWith('builtin:')) {
    const name = spec.slice('builtin:'.length);
    if (!(BUILTIN_DATASETS as readonly string[]).includes(name)) {
      throw new UsageError(`--data ${spec}: unknown built-in data set, expected one of ${BUILTIN_DATASETS.map((n) => `builtin:${n}`).join(', ')}`);
    }
    return createShapesDataset(name, resolution ?? 16);
  }
  return loadImageFolder(spec, resolution);
}
