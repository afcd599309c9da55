/**
 * What the training loop and the evaluator need from a data set: square images of one size as
 * interleaved H x W x C floats in [-1, 1] (pixel / 127.5 - 1, MPUNET.md section 4), split into a
 * training part and a held-out part that training never sees.
 */
export interface ImageDataset {
  /** `builtin:NAME` or the folder path, for messages and metadata. */
  readonly source: string;
  readonly resolution: number;
  readonly channels: 1 | 3;
  /** Distinct training images, or undefined for an endless generator (every index is new). */
  readonly trainCount: number | undefined;
  readonly heldOutCount: number;
  /** Writes training image `index` at `target[offset ..]` (resolution^2 * channels floats). */
  readTrain(index: number, target: Float32Array, offset: number): void;
  readHeldOut(index: number, target: Float32Array, offset: number): void;
}

export function imageSize(dataset: Pick<ImageDataset, 'resolution' | 'channels'>): number {
  return dataset.resolution * dataset.resolution * dataset.channels;
}

/** 8-bit pixel value to the network's data range. */
export function encodePixel(value: number): number {
  return value / 127.5 - 1;
}

/** The network's data range to an 8-bit pixel value (MPUNET.md section 4: x * 127.5 + 128, clipped). */
export function decodePixel(x: number): number {
  return Math.min(255, Math.max(0, Math.floor(x * 127.5 + 128)));
}
