/**
 * Builds a network from a snapshot or reconstructed file: the config comes from the file's
 * `ema_synth_network` metadata (which reconstruct keeps), or from a preset named by `--config`
 * with the image channels read from the output convolution's shape.
 */
import { InputFileError } from '../errors.js';
import { openSafetensors } from '../safetensors/reader.js';
import { presetConfig, validateConfig, type NetworkConfig } from './model/config.js';
import { createNetwork, type Network } from './model/network.js';
import { importTensors } from './model/snapshot-layout.js';
import { NETWORK_METADATA_KEY } from './snapshots.js';
import { readFloatTensors } from './tensor-file.js';

export interface LoadedNetwork {
  readonly net: Network;
  readonly metadata: Readonly<Record<string, string>>;
}

export async function loadNetworkFile(path: string, configName?: string): Promise<LoadedNetwork> {
  const file = await openSafetensors(path);
  try {
    if (file.metadata.ema_synth_checkpoint !== undefined) {
      throw new InputFileError(
        `${path}: this is a training checkpoint, not a snapshot`,
        'use a file from RUN_DIR/snapshots (or one made by reconstruct)',
      );
    }
    const config = networkConfigOf(path, file.metadata, file.tensors, configName);
    const tensors = await readFloatTensors(file);
    const net = createNetwork(config, 0);
    try {
      importTensors(net, tensors);
    } catch (error) {
      net.dispose();
      if (error instanceof InputFileError) throw new InputFileError(`${path}: ${error.message}`, error.hint);
      throw error;
    }
    return { net, metadata: file.metadata };
  } finally {
    await file.close();
  }
}

function networkConfigOf(
  path: string, metadata: Readonly<Record<string, string>>,
  tensors: ReadonlyArray<{ name: string; shape: readonly number[] }>, configName: string | undefined,
): NetworkConfig {
  if (configName !== undefined) {
    const config = presetConfig(configName);
    const out = tensors.find((t) => t.name.endsWith('out_conv.weight'));
    if (out !== undefined) config.channels = out.shape[0];
    validateConfig(config);
    return config;
  }
  const text = metadata[NETWORK_METADATA_KEY];
  if (text === undefined) {
    // An input problem (the file lacks what the command needs), so exit 1 like any bad input.
    throw new InputFileError(
      `${path}: the file does not say which network it holds (no ${NETWORK_METADATA_KEY} metadata)`,
      'pass --config tiny or --config small16',
    );
  }
  let config: NetworkConfig;
  try {
    config = JSON.parse(text) as NetworkConfig;
  } catch (cause) {
    throw new InputFileError(`${path}: metadata ${NETWORK_METADATA_KEY} is not valid JSON`, undefined, cause);
  }
  validateConfig(config);
  return config;
}
