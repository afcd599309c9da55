/**
 * Window size for a blend of K targets. Per element the engine holds K float64 accumulators, K
 * encoded outputs (4 bytes for F32) and three batches of 8 raw reads (4 bytes each for F32: one
 * being accumulated, two being read), so the working set is about (12K + 96) bytes per element. A
 * fixed budget keeps memory flat in model size; the cap (2 MiB of F32 per snapshot read) keeps K = 1
 * small while reads stay large enough for disk speed.
 */
const BUDGET_BYTES = 96 * 1024 * 1024;
const MAX_ELEMENTS = 512 * 1024;
const MIN_ELEMENTS = 16 * 1024;

export function chunkElementsFor(targets: number): number {
  const perElement = 12 * Math.max(1, targets) + 96;
  return Math.max(MIN_ELEMENTS, Math.min(MAX_ELEMENTS, Math.floor(BUDGET_BYTES / perElement)));
}
