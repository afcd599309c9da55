/**
 * Snapshot file names in the official implementation's style, accepted without metadata
 * (FORMAT.md): `<prefix>-<kimg>-<sigma_rel>.safetensors`, e.g. `phema-0008388-0.050.safetensors`, and EDM2's
 * own pickles named the same way with `.pkl` (`network-snapshot-0134217-0.050.pkl`).
 */
const OFFICIAL_NAME = /^(.*)-(\d+)-(\d+\.\d+)\.(?:safetensors|pkl)$/;

export interface ParsedSnapshotName {
  readonly prefix: string;
  readonly kimg: number;
  readonly sigmaRel: number;
}

export function parseSnapshotName(fileName: string): ParsedSnapshotName | undefined {
  const match = OFFICIAL_NAME.exec(fileName);
  if (!match) return undefined;
  return { prefix: match[1], kimg: Number(match[2]), sigmaRel: Number(match[3]) };
}

/**
 * Training images from a name's kimg: the largest multiple of 1024 whose thousands equal kimg.
 * Returns undefined when no multiple of 1024 lies in [kimg*1000, kimg*1000 + 999] (e.g. kimg 42),
 * since the name then cannot come from a run that snapshots at multiples of 1024 images.
 */
export function kimgToImages(kimg: number): number | undefined {
  const images = Math.floor((kimg * 1000 + 999) / 1024) * 1024;
  return Math.floor(images / 1000) === kimg ? images : undefined;
}
