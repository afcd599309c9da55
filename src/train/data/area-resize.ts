/**
 * Area (box) downsampling: each output pixel is the average of the input area it covers, with
 * partial pixels weighted by their overlap. Exact for integer factors (a plain block mean) and
 * free of aliasing for any factor, unlike point sampling. Separable, so done as rows then columns.
 */

/** For `from` input samples and `to` output samples, the (index, weight) taps of each output. */
export function areaTaps(from: number, to: number): Array<Array<[number, number]>> {
  if (!(Number.isInteger(from) && Number.isInteger(to) && to > 0 && from >= to)) {
    throw new RangeError(`area resampling needs integer sizes with from >= to > 0, got ${from} -> ${to}`);
  }
  const taps: Array<Array<[number, number]>> = [];
  const scale = from / to;
  for (let o = 0; o < to; o++) {
    const start = o * scale;
    const end = (o + 1) * scale;
    const row: Array<[number, number]> = [];
    for (let i = Math.floor(start); i < Math.min(Math.ceil(end), from); i++) {
      const overlap = Math.min(end, i + 1) - Math.max(start, i);
      if (overlap > 1e-12) row.push([i, overlap / scale]);
    }
    taps.push(row);
  }
  return taps;
}

/**
 * Resizes an interleaved H x W x C image to outH x outW x C by area averaging.
 * Only downsampling (or equal size) is supported.
 */
export function areaResize(
  pixels: Float32Array, height: number, width: number, channels: number,
  outHeight: number, outWidth: number,
): Float32Array {
  if (height === outHeight && width === outWidth) return pixels.slice();
  const rowTaps = areaTaps(height, outHeight);
  const colTaps = areaTaps(width, outWidth);
  // Columns first: H x outW x C.
  const mid = new Float32Array(height * outWidth * channels);
  for (let y = 0; y < height; y++) {
    for (let ox = 0; ox < outWidth; ox++) {
      for (const [x, w] of colTaps[ox]) {
        const src = (y * width + x) * channels;
        const dst = (y * outWidth + ox) * channels;
        for (let c = 0; c < channels; c++) mid[dst + c] += w * pixels[src + c];
      }
    }
  }
  const out = new Float32Array(outHeight * outWidth * channels);
  for (let oy = 0; oy < outHeight; oy++) {
    for (const [y, w] of rowTaps[oy]) {
      for (let ox = 0; ox < outWidth; ox++) {
        const src = (y * outWidth + ox) * channels;
        const dst = (oy * outWidth + ox) * channels;
        for (let c = 0; c < channels; c++) out[dst + c] += w * mid[src + c];
      }
    }
  }
  return out;
}
