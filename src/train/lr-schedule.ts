/**
 * EDM2's learning-rate schedule (MPUNET.md section 5): inverse-square-root decay after
 * `refBatches` steps' worth of images, times a linear ramp-up over `rampupImages`, evaluated at the
 * images seen *before* the step (so the very first step has lr = 0, as in the official loop).
 *
 *   lr = refLr / sqrt(max(t / (refBatches * batch), 1)) * min(t / rampupImages, 1)
 */
export interface LrScheduleOptions {
  readonly refLr: number;
  readonly refBatches: number;
  readonly batch: number;
  /** Ramp-up length in images; 0 disables the ramp. */
  readonly rampupImages: number;
}

export function learningRate(curNimg: number, options: LrScheduleOptions): number {
  const { refLr, refBatches, batch, rampupImages } = options;
  let lr = refLr;
  if (refBatches > 0) lr /= Math.sqrt(Math.max(curNimg / (refBatches * batch), 1));
  if (rampupImages > 0) lr *= Math.min(curNimg / rampupImages, 1);
  return lr;
}
