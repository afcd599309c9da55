import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { InputFileError, UsageError } from '../../errors.js';
import { areaResize } from './area-resize.js';
import { encodePixel, type ImageDataset } from './dataset.js';
import { decodeImageFile, isImageFile } from './decode-image.js';
import { DEFAULT_SPLIT, heldOutNames, type SplitOptions } from './held-out-split.js';
import { inputError } from '../../io/input-error.js';

/**
 * A folder of PNG/JPEG images of one square size, decoded once into memory at the training
 * resolution (area downsampling when `resolution` is smaller than the files). Greyscale when every
 * pixel of every image has R = G = B, RGB otherwise; alpha is ignored.
 */
export async function loadImageFolder(
  folder: string, resolution: number | undefined, split: SplitOptions = DEFAULT_SPLIT,
): Promise<ImageDataset> {
  let entries: string[];
  try {
    entries = (await readdir(folder)).filter(isImageFile).sort();
  } catch (cause) {
    throw inputError(`--data ${folder}`, 'cannot list the image folder', cause, { kind: 'folder', hint: 'pass a folder of PNG/JPEG images, or builtin:shapes' });
  }
  if (entries.length === 0) {
    throw new InputFileError(`--data ${folder}: no .png, .jpg or .jpeg files found`, 'pass a folder of images or builtin:shapes');
  }
  const images = [];
  let first: { name: string; width: number; height: number } | undefined;
  for (const name of entries) {
    const image = await decodeImageFile(join(folder, name));
    if (first === undefined) {
      first = { name, width: image.width, height: image.height };
      if (image.width !== image.height) {
        throw new InputFileError(`${join(folder, name)}: image is ${image.width}x${image.height}, expected a square image`);
      }
    } else if (image.width !== first.width || image.height !== first.height) {
      throw new InputFileError(
        `${join(folder, name)}: image is ${image.width}x${image.height}, expected ${first.width}x${first.height} like ${first.name}`,
        'all images of a data folder must have the same size',
      );
    }
    images.push({ name, image });
  }
  const size = first!.width;
  const target = resolution ?? size;
  if (target > size) {
    throw new UsageError(`--resolution ${target} is larger than the images (${size}x${size}); only downsampling is supported`);
  }
  const grey = images.every(({ image }) => isGrey(image.rgba));
  const channels = grey ? 1 : 3;
  const pixelsPerImage = target * target * channels;
  const held = heldOutNames(entries, split);
  const train: Float32Array[] = [];
  const heldOut: Float32Array[] = [];
  for (const { name, image } of images) {
    const planar = new Float32Array(size * size * channels);
    for (let p = 0; p < size * size; p++) {
      for (let c = 0; c < channels; c++) planar[p * channels + c] = image.rgba[p * 4 + c];
    }
    const resized = areaResize(planar, size, size, channels, target, target);
    for (let i = 0; i < pixelsPerImage; i++) resized[i] = encodePixel(resized[i]);
    (held.has(name) ? heldOut : train).push(resized);
  }
  const copy = (list: Float32Array[], label: string) => (index: number, out: Float32Array, offset: number): void => {
    if (!(index >= 0 && index < list.length)) throw new RangeError(`${label} index ${index} outside [0, ${list.length})`);
    out.set(list[index], offset);
  };
  return {
    source: folder,
    resolution: target,
    channels,
    trainCount: train.length,
    heldOutCount: heldOut.length,
    readTrain: copy(train, 'training image'),
    readHeldOut: copy(heldOut, 'held-out image'),
  };
}

function isGrey(rgba: Uint8Array): boolean {
  for (let i = 0; i < rgba.length; i += 4) {
    if (rgba[i] !== rgba[i + 1] || rgba[i] !== rgba[i + 2]) return false;
  }
  return true;
}
