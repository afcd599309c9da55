import { CounterRng, RngStream } from '../rng.js';
import { encodePixel, type ImageDataset } from './dataset.js';

/**
 * `builtin:shapes`: one to three coloured circles, squares or triangles on a plain background,
 * rendered with 4 x 4 supersampling and quantised to 8 bits like a real image file. Image i is a
 * pure function of (split, i): the set is endless and identical on every machine, whatever the
 * training seed, so runs with different seeds see the same distribution and evaluation images.
 * `builtin:shapes-gray` is its luminance.
 */
const SUPERSAMPLE = 4;
const HELD_OUT_COUNT = 256;

type Shape = { kind: number; cx: number; cy: number; size: number; angle: number; colour: number[] };

export const BUILTIN_DATASETS = ['shapes', 'shapes-gray'] as const;

export function createShapesDataset(name: string, resolution: number): ImageDataset {
  if (!(BUILTIN_DATASETS as readonly string[]).includes(name)) {
    throw new RangeError(`unknown built-in data set "${name}", expected one of ${BUILTIN_DATASETS.join(', ')}`);
  }
  const channels = name === 'shapes-gray' ? 1 : 3;
  const render = (split: number, index: number, target: Float32Array, offset: number): void =>
    renderShapes(new CounterRng([RngStream.shapes, split, index]), resolution, channels, target, offset);
  return {
    source: `builtin:${name}`,
    resolution,
    channels,
    trainCount: undefined,
    heldOutCount: HELD_OUT_COUNT,
    readTrain: (index, target, offset) => render(0, index, target, offset),
    readHeldOut: (index, target, offset) => {
      if (!(index >= 0 && index < HELD_OUT_COUNT)) throw new RangeError(`held-out index ${index} outside [0, ${HELD_OUT_COUNT})`);
      render(1, index, target, offset);
    },
  };
}

function randomColour(rng: CounterRng): number[] {
  return [rng.uniform(), rng.uniform(), rng.uniform()];
}

/** Draws one image into target[offset ..] as H x W x C values in [-1, 1]. */
export function renderShapes(
  rng: CounterRng, resolution: number, channels: 1 | 3, target: Float32Array, offset: number,
): void {
  const background = randomColour(rng);
  const shapes: Shape[] = [];
  const count = 1 + rng.below(3);
  for (let s = 0; s < count; s++) {
    let colour = randomColour(rng);
    // Keep shapes visible: push a colour too close to the background away from it.
    const distance = Math.hypot(colour[0] - background[0], colour[1] - background[1], colour[2] - background[2]);
    if (distance < 0.4) colour = colour.map((c, k) => (background[k] > 0.5 ? c * 0.4 : 0.6 + c * 0.4));
    shapes.push({
      kind: rng.below(3),
      cx: 0.2 + 0.6 * rng.uniform(),
      cy: 0.2 + 0.6 * rng.uniform(),
      size: 0.12 + 0.22 * rng.uniform(),
      angle: 2 * Math.PI * rng.uniform(),
      colour,
    });
  }
  const rgb = [0, 0, 0];
  for (let y = 0; y < resolution; y++) {
    for (let x = 0; x < resolution; x++) {
      rgb[0] = rgb[1] = rgb[2] = 0;
      for (let sy = 0; sy < SUPERSAMPLE; sy++) {
        for (let sx = 0; sx < SUPERSAMPLE; sx++) {
          const u = (x + (sx + 0.5) / SUPERSAMPLE) / resolution;
          const v = (y + (sy + 0.5) / SUPERSAMPLE) / resolution;
          let colour = background;
          for (const shape of shapes) if (inside(shape, u, v)) colour = shape.colour;
          rgb[0] += colour[0];
          rgb[1] += colour[1];
          rgb[2] += colour[2];
        }
      }
      const base = offset + (y * resolution + x) * channels;
      const n = SUPERSAMPLE * SUPERSAMPLE;
      if (channels === 3) {
        for (let c = 0; c < 3; c++) target[base + c] = encodePixel(Math.round((rgb[c] / n) * 255));
      } else {
        const luma = (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / n;
        target[base] = encodePixel(Math.round(luma * 255));
      }
    }
  }
}

function inside(shape: Shape, u: number, v: number): boolean {
  const dx = u - shape.cx;
  const dy = v - shape.cy;
  if (shape.kind === 0) return dx * dx + dy * dy <= shape.size * shape.size;
  // Rotate into the shape's frame.
  const cos = Math.cos(shape.angle);
  const sin = Math.sin(shape.angle);
  const px = cos * dx + sin * dy;
  const py = -sin * dx + cos * dy;
  if (shape.kind === 1) return Math.abs(px) <= shape.size * 0.85 && Math.abs(py) <= shape.size * 0.85;
  // Equilateral triangle with circumradius `size`: inside all three edge half-planes.
  for (let k = 0; k < 3; k++) {
    const a = (2 * Math.PI * k) / 3;
    if (px * Math.cos(a) + py * Math.sin(a) > shape.size * 0.5) return false;
  }
  return true;
}
