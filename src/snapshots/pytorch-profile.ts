/**
 * Profile and time of a PyTorch snapshot. .pt files carry no metadata, so they are understood
 * only as an ema-pytorch PostHocEMA folder (`<profile index>.<step>.pt`) with the profile list the
 * training used (--profiles / --profile-gammas).
 */
import { InputFileError } from '../errors.js';
import { describeEmaPytorchSnapshot, type ProfileList, type TimeConvention } from '../pytorch/ema-pytorch-convention.js';
import type { SnapshotProfile } from './snapshot-profile.js';

export interface PytorchProfileOptions {
  readonly profiles?: ProfileList;
  readonly convention?: TimeConvention;
}

export function describePytorchSnapshot(path: string, fileName: string, options: PytorchProfileOptions): SnapshotProfile {
  if (options.profiles === undefined) {
    throw new InputFileError(`${path}: a PyTorch checkpoint does not say which EMA it holds`,
      'for an ema-pytorch folder give --profiles (the sigma_rels passed to PostHocEMA, in order); otherwise convert each file once with `ema-synth convert FILE OUT.safetensors --sigma-rel S --time T`');
  }
  const description = describeEmaPytorchSnapshot(fileName, options.profiles, options.convention ?? 'exact');
  if (description === undefined) {
    throw new InputFileError(`${path}: the name is not ema-pytorch's <profile index>.<step>.pt, so its time is unknown`,
      'convert it with `ema-synth convert FILE OUT.safetensors --sigma-rel S --time T`');
  }
  return { sigmaRel: description.sigmaRel, gamma: description.gamma, time: description.time, timeUnit: 'step', origin: 'file name' };
}
