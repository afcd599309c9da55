/**
 * Where a snapshot's profile and time come from: its metadata (FORMAT.md keys), else an
 * official-style file name. Pure: takes the name and metadata, returns a description or throws.
 */
import { InputFileError } from '../errors.js';
import { gammaToSigmaRel, MAX_SIGMA_REL, sigmaRelToGamma } from '../phema/profile.js';
import { kimgToImages, parseSnapshotName } from './snapshot-name.js';

export interface SnapshotProfile {
  readonly sigmaRel: number;
  readonly gamma: number;
  readonly time: number;
  /** `step`, `image`, another word, or undefined when the file does not say. */
  readonly timeUnit: string | undefined;
  readonly origin: 'metadata' | 'file name';
}

/** Relative tolerance for ema_sigma_rel and ema_gamma to agree (metadata is often rounded). */
const AGREEMENT = 1e-3;

export function describeSnapshot(path: string, fileName: string, metadata: Readonly<Record<string, string>>): SnapshotProfile {
  if (metadata.ema_profile !== undefined && metadata.ema_profile !== 'power') {
    throw new InputFileError(`${path}: metadata ema_profile is ${JSON.stringify(metadata.ema_profile)}; snapshots must hold power-function EMAs`,
      'post-hoc reconstruction needs snapshots of power-function EMA profiles (ema_sigma_rel or ema_gamma)');
  }
  const hasProfile = metadata.ema_sigma_rel !== undefined || metadata.ema_gamma !== undefined;
  if (hasProfile || metadata.ema_time !== undefined) return fromMetadata(path, metadata);
  const parsed = parseSnapshotName(fileName);
  if (!parsed) {
    throw new InputFileError(
      `${path}: no EMA profile: metadata has no ema_sigma_rel/ema_gamma and ema_time, and the name is not like 'phema-0008388-0.050.safetensors'`,
      'add the metadata keys of the snapshot format (see README, "Snapshot format")',
    );
  }
  const time = kimgToImages(parsed.kimg);
  if (time === undefined) {
    throw new InputFileError(`${path}: kimg ${parsed.kimg} in the name matches no multiple of 1024 images`, 'add ema_time metadata to give the exact time');
  }
  return { sigmaRel: checkSigmaRel(path, parsed.sigmaRel, 'the file name'), gamma: sigmaRelToGamma(parsed.sigmaRel), time, timeUnit: 'image', origin: 'file name' };
}

function fromMetadata(path: string, metadata: Readonly<Record<string, string>>): SnapshotProfile {
  const time = parsePositive(path, metadata, 'ema_time', true);
  const sigmaText = metadata.ema_sigma_rel;
  const gammaText = metadata.ema_gamma;
  if (sigmaText === undefined && gammaText === undefined) {
    throw new InputFileError(`${path}: metadata has ema_time but neither ema_sigma_rel nor ema_gamma`);
  }
  let sigmaRel: number;
  let gamma: number;
  if (sigmaText !== undefined) {
    sigmaRel = checkSigmaRel(path, parseNumber(path, 'ema_sigma_rel', sigmaText), 'metadata ema_sigma_rel');
    gamma = sigmaRelToGamma(sigmaRel);
    if (gammaText !== undefined) {
      const stated = parsePositive(path, metadata, 'ema_gamma', false);
      if (Math.abs(stated - gamma) > AGREEMENT * gamma) {
        throw new InputFileError(`${path}: metadata disagrees: ema_sigma_rel ${sigmaText} means gamma ${gamma.toFixed(4)}, but ema_gamma is ${gammaText}`);
      }
      gamma = stated; // the exponent is what the tracking used; sigma_rel is often rounded
    }
  } else {
    gamma = parsePositive(path, metadata, 'ema_gamma', false);
    sigmaRel = gammaToSigmaRel(gamma);
  }
  return { sigmaRel, gamma, time, timeUnit: metadata.ema_time_unit, origin: 'metadata' };
}

function checkSigmaRel(path: string, value: number, where: string): number {
  if (!(value > 0 && value < MAX_SIGMA_REL)) {
    throw new InputFileError(`${path}: sigma_rel ${value} from ${where} is outside (0, ${MAX_SIGMA_REL.toFixed(6)})`);
  }
  return value;
}

function parsePositive(path: string, metadata: Readonly<Record<string, string>>, key: string, allowZero: boolean): number {
  const text = metadata[key];
  if (text === undefined) throw new InputFileError(`${path}: metadata has no ${key}`);
  const value = parseNumber(path, key, text);
  if (!(value > 0 || (allowZero && value === 0))) {
    throw new InputFileError(`${path}: metadata ${key} must be ${allowZero ? 'a non-negative' : 'a positive'} number, got ${JSON.stringify(text)}`);
  }
  return value;
}

function parseNumber(path: string, key: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) {
    throw new InputFileError(`${path}: metadata ${key} is not a number: ${JSON.stringify(text)}`);
  }
  return value;
}
