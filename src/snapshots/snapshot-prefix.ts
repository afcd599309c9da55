/**
 * Which files of a folder form one run, as the official tool decides: files named
 * `<prefix>-<kimg>-<std>.pkl` filtered by prefix (--prefix), and never pickles mixed with
 * safetensors snapshots (two formats in one folder are two runs or a half-finished conversion).
 */
import { join } from 'node:path';
import { InputFileError, UsageError } from '../errors.js';
import { isEdm2PickleFileName } from './open-tensor-file.js';
import { parseSnapshotName } from './snapshot-name.js';

export function selectByPrefix(dir: string, fileNames: readonly string[], prefix: string | undefined): string[] {
  let selected = [...fileNames];
  if (prefix !== undefined) {
    selected = selected.filter((name) => parseSnapshotName(name)?.prefix === prefix);
    if (selected.length === 0) {
      const prefixes = distinctPrefixes(fileNames);
      throw new UsageError(`${dir}: no snapshot named ${prefix}-<kimg>-<std> (--prefix ${prefix})`,
        prefixes.length > 0 ? `prefixes found: ${prefixes.join(', ')}` : 'snapshot names look like network-snapshot-0134217-0.050.pkl');
    }
  }
  const pickle = selected.find(isEdm2PickleFileName);
  const other = selected.find((name) => !isEdm2PickleFileName(name));
  if (pickle !== undefined && other !== undefined) {
    throw new InputFileError(`${dir} mixes EDM2 pickles and other snapshots: ${join(dir, pickle)} and ${join(dir, other)}`,
      'keep one format per folder: move the converted or reconstructed files elsewhere');
  }
  if (pickle !== undefined && prefix === undefined) {
    const prefixes = distinctPrefixes(selected);
    if (prefixes.length > 1) {
      throw new UsageError(`${dir} holds pickles of ${prefixes.length} name prefixes (${prefixes.join(', ')})`,
        `choose one run with --prefix, e.g. --prefix ${prefixes.includes('network-snapshot') ? 'network-snapshot' : prefixes[0]}`);
    }
  }
  return selected;
}

function distinctPrefixes(fileNames: readonly string[]): string[] {
  return [...new Set(fileNames.map((name) => parseSnapshotName(name)?.prefix).filter((p): p is string => p !== undefined))].sort();
}
