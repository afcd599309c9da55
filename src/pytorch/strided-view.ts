/**
 * Index arithmetic for strided tensor views (PyTorch's size/stride/storage_offset, all in
 * elements): which storage element each row-major logical element lives at. Pure; no I/O.
 */

/** True when the view is row-major contiguous (dims of size 1 may have any stride, as in PyTorch). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 0) return true;
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/**
 * Calls `visit(k, storageIndex)` for logical elements first .. first + count - 1 (k counts from 0),
 * walking the multi-index like an odometer so each step is O(1) amortised.
 */
export function forEachStridedIndex(
  shape: readonly number[],
  stride: readonly number[],
  offset: number,
  first: number,
  count: number,
  visit: (k: number, storageIndex: number) => void,
): void {
  if (count <= 0) return;
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  let position = offset;
  let rest = first;
  for (let d = rank - 1; d >= 0; d--) {
    index[d] = rest % shape[d];
    rest = Math.floor(rest / shape[d]);
    position += index[d] * stride[d];
  }
  for (let k = 0; k < count; k++) {
    visit(k, position);
    for (let d = rank - 1; d >= 0; d--) {
      index[d]++;
      position += stride[d];
      if (index[d] < shape[d]) break;
      position -= index[d] * stride[d];
      index[d] = 0;
    }
  }
}

/** Smallest and largest storage index touched by logical elements first .. first + count - 1. */
export function storageSpan(
  shape: readonly number[],
  stride: readonly number[],
  offset: number,
  first: number,
  count: number,
): { min: number; max: number } {
  let min = Infinity;
  let max = -Infinity;
  forEachStridedIndex(shape, stride, offset, first, count, (_, at) => {
    if (at < min) min = at;
    if (at > max) max = at;
  });
  return { min, max };
}
