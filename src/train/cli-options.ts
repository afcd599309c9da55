/**
 * Turns the train/sample/evaluate commands' raw flag strings into typed values, once, with
 * messages that name the flag and the value received.
 */
import { UsageError } from '../errors.js';
import { BACKEND_NAMES, type BackendName } from './backend.js';
import type { NetworkConfig } from './model/config.js';

export function parseIntegerFlag(flag: string, text: string | undefined, min = 0): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!(/^\s*-?\d+\s*$/.test(text) && Number.isSafeInteger(value) && value >= min)) {
    throw new UsageError(`${flag} ${text}: expected an integer >= ${min}`);
  }
  return value;
}

export function parseNumberFlag(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new UsageError(`${flag} ${text}: expected a number`);
  return value;
}

export function parseNumberList(flag: string, text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  return text.split(',').map((part) => parseNumberFlag(flag, part) as number);
}

export function parseBackend(text: string): BackendName {
  if (!(BACKEND_NAMES as readonly string[]).includes(text)) {
    throw new UsageError(`--backend ${text}: expected one of ${BACKEND_NAMES.join(', ')}`);
  }
  return text as BackendName;
}

const NETWORK_FIELDS: ReadonlyArray<keyof NetworkConfig> = [
  'modelChannels', 'channelMult', 'numBlocks', 'attnResolutions', 'channelsPerHead', 'dropout', 'logvarChannels',
];

/** `--net modelChannels=32 --net channelMult=1,2,2`: network fields to override. */
export function parseNetworkOverrides(items: readonly string[]): Partial<NetworkConfig> {
  const result: Record<string, unknown> = {};
  for (const item of items) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(item);
    const key = match?.[1] as keyof NetworkConfig | undefined;
    if (match === null || key === undefined || !NETWORK_FIELDS.includes(key)) {
      throw new UsageError(`--net ${item}: expected KEY=VALUE with KEY one of ${NETWORK_FIELDS.join(', ')}`);
    }
    const list = key === 'channelMult' || key === 'attnResolutions';
    result[key] = list
      ? (match[2] === '' ? [] : parseNumberList(`--net ${key}`, match[2]))
      : parseNumberFlag(`--net ${key}`, match[2]);
  }
  return result as Partial<NetworkConfig>;
}
