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

/**
 * Copies logical elements first .. first + count - 1 of a strided view into `out` (row-major),
 * taking only those whose storage index lies in the window [windowFirst, windowFirst + window
 * elements); the others are left untouched, so a caller can sweep a large storage window by window.
 * `window` and `out` must start on a multiple of the element size (fresh allocations do).
 */
export function gatherStrided(
  window: Uint8Array,
  windowFirst: number,
  elementBytes: number,
  view: { readonly shape: readonly number[]; readonly stride: readonly number[]; readonly offset: number },
  first: number,
  count: number,
  out: Uint8Array,
): void {
  // Copy whole elements as one or two machine words: no per-element allocation, bits preserved.
  const words = elementBytes === 8 ? 2 : 1;
  const src = wordView(window, elementBytes);
  const dst = wordView(out, elementBytes);
  const windowLength = window.byteLength / elementBytes;
  const { shape, stride, offset } = view;
  const rank = shape.length;
  if (rank === 0) {
    if (count > 0 && offset >= windowFirst && offset - windowFirst < windowLength) {
      for (let w = 0; w < words; w++) dst[w] = src[(offset - windowFirst) * words + w];
    }
    return;
  }
  const index = new Array<number>(rank).fill(0);
  let position = offset - windowFirst; // storage index relative to the window
  let rest = first;
  for (let d = rank - 1; d >= 0; d--) {
    index[d] = rest % shape[d];
    rest = Math.floor(rest / shape[d]);
    position += index[d] * stride[d];
  }
  const inner = shape[rank - 1];
  const step = stride[rank - 1];
  let k = 0;
  while (k < count) {
    const run = Math.min(inner - index[rank - 1], count - k);
    for (let r = 0; r < run; r++, k++, position += step) {
      if (position < 0 || position >= windowLength) continue;
      if (words === 1) dst[k] = src[position];
      else {
        dst[2 * k] = src[2 * position];
        dst[2 * k + 1] = src[2 * position + 1];
      }
    }
    index[rank - 1] += run;
    if (index[rank - 1] < inner) break; // count exhausted mid-row
    position -= inner * step;
    index[rank - 1] = 0;
    for (let d = rank - 2; d >= 0; d--) {
      index[d]++;
      position += stride[d];
      if (index[d] < shape[d]) break;
      position -= shape[d] * stride[d];
      index[d] = 0;
    }
  }
}

function wordView(bytes: Uint8Array, elementBytes: number): Uint8Array | Uint16Array | Uint32Array {
  if (elementBytes === 1) return bytes;
  if (elementBytes === 2) return new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
}

