/**
 * Lays generated images (NHWC floats in the data range [-1, 1]) out as one RGBA grid, the way a
 * user wants to look at samples: row-major, as square as possible, each pixel optionally scaled
 * up so that 8x8 images are visible, with a gap between tiles. Pure; encoding is encode-grid.ts's.
 */
import { decodePixel } from './data/dataset.js';

export interface Grid {
  readonly width: number;
  readonly height: number;
  readonly rgba: Uint8Array;
}

export function layoutGrid(
  images: Float32Array, count: number, resolution: number, channels: number, scale = 1, gap = 0,
): Grid {
  const columns = Math.ceil(Math.sqrt(count));
  const rows = Math.ceil(count / columns);
  const side = resolution * scale;
  // Tiles sit `gap` white pixels apart and from the border, so that small images read as separate
  // pictures rather than one field of colour noise.
  const pitch = side + gap;
  const width = columns * pitch + gap;
  const height = rows * pitch + gap;
  const rgba = new Uint8Array(width * height * 4).fill(255);
  const size = resolution * resolution * channels;
  for (let i = 0; i < count; i++) {
    const left = gap + (i % columns) * pitch;
    const top = gap + Math.floor(i / columns) * pitch;
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) {
        const source = i * size + (Math.floor(y / scale) * resolution + Math.floor(x / scale)) * channels;
        const target = ((top + y) * width + left + x) * 4;
        for (let c = 0; c < 3; c++) rgba[target + c] = decodePixel(images[source + (channels === 1 ? 0 : c)]);
      }
    }
  }
  return { width, height, rgba };
}

/** The gap between tiles sample uses: an eighth of a tile, at least 2 pixels. */
export function defaultGap(tileSide: number): number {
  return Math.max(2, Math.round(tileSide / 8));
}

/** Scale so that a grid is at least about 256 pixels wide. */
export function defaultScale(count: number, resolution: number): number {
  return Math.max(1, Math.floor(256 / (Math.ceil(Math.sqrt(count)) * resolution)));
}
