/**
 * Window size for a blend of K targets. Per element the engine holds K float64 accumulators, one
 * float64 decode buffer, two read buffers and one output buffer (up to 8 bytes each), so the
 * working set is about (8K + 40) bytes per element. A fixed budget keeps memory flat in model size.
 */
const BUDGET_BYTES = 96 * 1024 * 1024;
const MAX_ELEMENTS = 4 * 1024 * 1024;
const MIN_ELEMENTS = 64 * 1024;

export function chunkElementsFor(targets: number): number {
  const perElement = 8 * Math.max(1, targets) + 40;
  return Math.max(MIN_ELEMENTS, Math.min(MAX_ELEMENTS, Math.floor(BUDGET_BYTES / perElement)));
}
