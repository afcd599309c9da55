import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { InputFileError } from '../../errors.js';
import { inputError } from '../../io/input-error.js';

/** A decoded image: RGBA, 8 bits per channel, row-major. */
export interface DecodedImage {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

export function isImageFile(name: string): boolean {
  return (IMAGE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase());
}

/** Decodes a PNG (pngjs) or JPEG (jpeg-js) file; both libraries return RGBA whatever the source. */
export async function decodeImageFile(path: string): Promise<DecodedImage> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw inputError(path, 'cannot read the image', cause);
  }
  const extension = extname(path).toLowerCase();
  try {
    if (extension === '.png') {
      const png = pngjs.PNG.sync.read(bytes);
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    // jpeg-js caps memory per image; 512 MB is far above anything this trainer can use.
    const image = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 512 });
    return { width: image.width, height: image.height, rgba: image.data };
  } catch (cause) {
    throw new InputFileError(
      `${path}: cannot decode ${extension === '.png' ? 'PNG' : 'JPEG'}: ${(cause as Error).message}`,
      'the data folder must hold only valid PNG or JPEG images',
      cause,
    );
  }
}
