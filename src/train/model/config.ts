/**
 * Hyper-parameters of the magnitude-preserving UNet (EDM2 config G, MPUNET.md sections 2-3, 8) and the
 * quantities derived from them. Pure data: no tfjs here so that the CLI can validate a config cheaply.
 */
import { UsageError } from '../../errors.js';

export interface NetworkConfig {
  /** Image side in pixels (square images). Must be divisible by 2^(levels-1). */
  resolution: number;
  /** Image channels: 1 (greyscale) or 3 (RGB); any positive number works. */
  channels: number;
  /** Number of classes for a conditional model; 0 = unconditional. */
  labelDim: number;
  modelChannels: number;
  channelMult: number[];
  numBlocks: number;
  /** Resolutions (side lengths) whose encoder/decoder blocks get self-attention. */
  attnResolutions: number[];
  channelsPerHead: number;
  dropout: number;
  logvarChannels: number;
}

export const NETWORK_PRESETS: { tiny: NetworkConfig; small16: NetworkConfig } = {
  // Trains a step in a fraction of a second on the cpu backend while exercising every code path:
  // two levels (down, up, skips with projections) and attention with two heads at 4x4.
  tiny: {
    resolution: 8,
    channels: 3,
    labelDim: 0,
    modelChannels: 8,
    channelMult: [1, 2],
    numBlocks: 1,
    attnResolutions: [4],
    channelsPerHead: 8,
    dropout: 0,
    logvarChannels: 16,
  },
  // MPUNET.md section 8: 407,155 parameters for RGB.
  small16: {
    resolution: 16,
    channels: 3,
    labelDim: 0,
    modelChannels: 24,
    channelMult: [1, 2],
    numBlocks: 1,
    attnResolutions: [8],
    channelsPerHead: 48,
    dropout: 0,
    logvarChannels: 128,
  },
};

export type PresetName = keyof typeof NETWORK_PRESETS;

/** A fresh copy of a preset (callers may then override fields). */
export function presetConfig(name: string): NetworkConfig {
  if (!Object.prototype.hasOwnProperty.call(NETWORK_PRESETS, name)) {
    throw new UsageError(
      `unknown network config '${name}'; expected one of ${Object.keys(NETWORK_PRESETS).join(', ')}`,
    );
  }
  const preset = NETWORK_PRESETS[name as PresetName];
  return { ...preset, channelMult: [...preset.channelMult], attnResolutions: [...preset.attnResolutions] };
}

/** Channels per level, noise-embedding and embedding widths (MPUNET.md section 3). */
export interface DerivedWidths {
  cblock: number[];
  noiseChannels: number;
  embChannels: number;
}

export function derivedWidths(config: NetworkConfig): DerivedWidths {
  const cblock = config.channelMult.map((m) => config.modelChannels * m);
  return { cblock, noiseChannels: cblock[0], embChannels: Math.max(...cblock) };
}

function positiveInteger(value: number): boolean {
  return Number.isInteger(value) && value > 0;
}

/** Throws a UsageError naming the first invalid field. */
export function validateConfig(config: NetworkConfig): void {
  const ints: Array<keyof NetworkConfig> = [
    'resolution', 'channels', 'modelChannels', 'numBlocks', 'channelsPerHead', 'logvarChannels',
  ];
  for (const key of ints) {
    const value = config[key] as number;
    if (!positiveInteger(value)) {
      throw new UsageError(`network config: ${key} must be a positive integer, got ${value}`);
    }
  }
  if (!Number.isInteger(config.labelDim) || config.labelDim < 0) {
    throw new UsageError(`network config: labelDim must be an integer >= 0, got ${config.labelDim}`);
  }
  if (config.channelMult.length === 0 || !config.channelMult.every(positiveInteger)) {
    throw new UsageError(
      `network config: channelMult must be a non-empty list of positive integers, got [${config.channelMult.join(',')}]`,
    );
  }
  const levels = config.channelMult.length;
  if (config.resolution % 2 ** (levels - 1) !== 0) {
    throw new UsageError(
      `network config: resolution ${config.resolution} must be divisible by 2^${levels - 1} for ${levels} levels`,
    );
  }
  if (!(config.dropout >= 0 && config.dropout < 1)) {
    throw new UsageError(`network config: dropout must be in [0, 1), got ${config.dropout}`);
  }
}
