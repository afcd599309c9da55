import { CounterRng, permutation, RngStream } from '../rng.js';
import { imageSize, type ImageDataset } from './dataset.js';

/**
 * The training images of the step that starts at `curNimg`: image positions curNimg .. curNimg +
 * batch - 1 of an endless stream that visits a finite training set in a fresh random order each
 * epoch. The order of epoch e is a pure function of (seed, e), so any step's batch can be rebuilt
 * from (seed, curNimg) alone: the property exact resume relies on.
 */
export class BatchSampler {
  private cachedEpoch = -1;
  private cachedOrder: Uint32Array = new Uint32Array(0);

  constructor(private readonly dataset: ImageDataset, private readonly seed: number) {}

  indexAt(position: number): number {
    const count = this.dataset.trainCount;
    if (count === undefined) return position;
    const epoch = Math.floor(position / count);
    if (epoch !== this.cachedEpoch) {
      this.cachedOrder = permutation(count, new CounterRng([this.seed, RngStream.dataOrder, epoch]));
      this.cachedEpoch = epoch;
    }
    return this.cachedOrder[position % count];
  }

  /** batch x H x W x C floats, row-major (NHWC). */
  batch(curNimg: number, batch: number): Float32Array {
    const size = imageSize(this.dataset);
    const out = new Float32Array(batch * size);
    for (let j = 0; j < batch; j++) this.dataset.readTrain(this.indexAt(curNimg + j), out, j * size);
    return out;
  }
}
