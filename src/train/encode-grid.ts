/** Encodes an image grid as the file format `sample --out` names (io/output-format.ts). */
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import type { ImageFormat } from '../io/output-format.js';
import type { Grid } from './image-grid.js';

/** JPEG quality: high, since the tiles are tiny and artefacts would hide their detail. */
const JPEG_QUALITY = 95;

export function encodeGrid(grid: Grid, format: ImageFormat): Buffer {
  const data = Buffer.from(grid.rgba.buffer, grid.rgba.byteOffset, grid.rgba.byteLength);
  if (format === 'jpeg') return jpeg.encode({ data, width: grid.width, height: grid.height }, JPEG_QUALITY).data;
  const png = new pngjs.PNG({ width: grid.width, height: grid.height });
  png.data = data;
  return pngjs.PNG.sync.write(png);
}
