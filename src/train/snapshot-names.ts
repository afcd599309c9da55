/**
 * File names of the snapshots a run writes. Times that are multiples of 1,024 images get the
 * official name `network-snapshot-<kimg, 7 digits>-<sigma_rel, 3 decimals>.safetensors`, which maps
 * back to the exact time (FORMAT.md). Other times (short test runs snapshotting every few images)
 * would collide or map back wrongly under that rule, so they spell the image count out:
 * `network-snapshot-img<images, 10 digits>-<sigma_rel>.safetensors`. Either way the metadata
 * (`ema_time`, unit `image`) is what readers use.
 */
export function snapshotFileName(nimg: number, sigmaRel: number): string {
  return `network-snapshot-${timeLabel(nimg)}-${sigmaRel.toFixed(3)}.safetensors`;
}

export function rawFileName(nimg: number): string {
  return `network-raw-${timeLabel(nimg)}.safetensors`;
}

function timeLabel(nimg: number): string {
  if (nimg % 1024 === 0) return String(Math.floor(nimg / 1000)).padStart(7, '0');
  return `img${String(nimg).padStart(10, '0')}`;
}
