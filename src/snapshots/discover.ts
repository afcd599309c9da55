/**
 * Finds the snapshots in a folder and checks them up front, reading headers only: profile and time
 * of each file, one time unit, one tensor layout, no duplicate (time, profile). Files that carry no
 * information (time 0) or are our own outputs are skipped with a note rather than failing the run.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { EmaSynthError, InputFileError } from '../errors.js';
import type { TensorSource } from '../tensors/tensor-source.js';
import { checkSameLayout } from './layout-check.js';
import { isEdm2PickleFileName, isPytorchFileName, isSnapshotFileName, openTensorFile } from './open-tensor-file.js';
import { selectByPrefix } from './snapshot-prefix.js';
import { describePytorchSnapshot, type PytorchProfileOptions } from './pytorch-profile.js';
import { describeSnapshot, type SnapshotProfile } from './snapshot-profile.js';
import { inputError } from '../io/input-error.js';

export interface Snapshot extends SnapshotProfile {
  readonly path: string;
  readonly fileName: string;
  readonly source: TensorSource;
  readonly bytes: number;
}

export interface SnapshotSet {
  readonly dir: string;
  /** Sorted by time, then by gamma (widest profile first). */
  readonly snapshots: readonly Snapshot[];
  readonly timeUnit: string | undefined;
  /** Things the user should know (skipped files and why), one sentence each. */
  readonly notes: readonly string[];
  /** True when the snapshots are an ema-pytorch PostHocEMA folder of .pt files. */
  readonly emaPytorch: boolean;
  /** True when the snapshots are EDM2's own pickles (.pkl). */
  readonly edm2Pickles: boolean;
}

export interface DiscoveryOptions extends PytorchProfileOptions {
  /** Skip unreadable or inconsistent snapshot files (listed in notes) instead of failing. */
  readonly skipInvalid?: boolean;
  /** Nested dict of PyTorch checkpoints holding the state dict (`ema`, `state_dict`, ...). */
  readonly key?: string;
  /** Only files named `<prefix>-<kimg>-<std>.<ext>` with this prefix, as the official tool filters. */
  readonly prefix?: string;
}

/** Metadata key that marks files ema-synth reconstructed (FORMAT.md "Outputs"). */
const RECONSTRUCTED_KEY = 'ema_snapshots';
const OPEN_CONCURRENCY = 16;

export async function discoverSnapshots(dir: string, options: DiscoveryOptions = {}): Promise<SnapshotSet> {
  const fileNames = selectByPrefix(dir, await listSnapshotFiles(dir), options.prefix);
  const notes: string[] = [];
  const opened = await mapLimited(fileNames, OPEN_CONCURRENCY, async (fileName) => {
    const path = join(dir, fileName);
    try {
      const source = await openTensorFile(path, { key: options.key });
      await source.close(); // headers are kept; descriptors are reopened on demand
      const profile = isPytorchFileName(fileName) ? describePytorchSnapshot(path, fileName, options) : describeSnapshot(path, fileName, source.metadata);
      return { path, fileName, source, profile, bytes: (await stat(path)).size };
    } catch (error) {
      if (options.skipInvalid && error instanceof EmaSynthError) {
        notes.push(`skipped ${path}: ${error.message.replace(`${path}: `, '')}`);
        return undefined;
      }
      throw error;
    }
  });

  const candidates: Snapshot[] = [];
  for (const item of opened) {
    if (item === undefined) continue;
    if (item.source.metadata[RECONSTRUCTED_KEY] !== undefined) {
      notes.push(`skipped ${item.path}: it is a reconstruction written by ema-synth, not a training snapshot`);
      continue;
    }
    if (item.profile.time === 0) {
      notes.push(`skipped ${item.path}: a snapshot at time 0 carries no information`);
      continue;
    }
    candidates.push({ ...item.profile, path: item.path, fileName: item.fileName, source: item.source, bytes: item.bytes });
  }
  candidates.sort((a, b) => a.time - b.time || a.gamma - b.gamma || a.fileName.localeCompare(b.fileName));
  if (candidates.length === 0) {
    throw new InputFileError(`${dir}: no usable snapshots (${fileNames.length} snapshot file(s) found)`,
      notes.length > 0 ? notes.join('; ') : 'a snapshot folder holds one .safetensors file per snapshot; see README, "Snapshot format"');
  }
  const snapshots = keepConsistent(candidates, options, notes);
  return {
    dir, snapshots, timeUnit: commonTimeUnit(snapshots), notes,
    emaPytorch: snapshots.some((s) => isPytorchFileName(s.fileName)),
    edm2Pickles: snapshots.some((s) => isEdm2PickleFileName(s.fileName)),
  };
}

async function listSnapshotFiles(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (error) {
    throw inputError(dir, 'cannot list snapshots', error, { kind: 'folder' });
  }
  return entries.filter(isSnapshotFileName).sort();
}

/** The layout of the latest snapshot is the reference; duplicates of (time, profile) are fatal. */
function keepConsistent(candidates: Snapshot[], options: DiscoveryOptions, notes: string[]): Snapshot[] {
  const reference = candidates[candidates.length - 1];
  const kept: Snapshot[] = [];
  const seen = new Map<string, Snapshot>();
  for (const snapshot of candidates) {
    try {
      checkSameLayout(reference.source, snapshot.source);
    } catch (error) {
      if (!options.skipInvalid) throw error;
      notes.push(`skipped ${snapshot.path}: ${(error as Error).message.replace(`${snapshot.path}: `, '')}`);
      continue;
    }
    const key = `${snapshot.time}/${snapshot.gamma}`;
    const twin = seen.get(key);
    if (twin !== undefined) {
      throw new InputFileError(`${snapshot.path} and ${twin.path} both hold sigma_rel ${snapshot.sigmaRel} at time ${snapshot.time}`,
        'two runs or two naming schemes in one folder? Keep one of each (time, profile).');
    }
    seen.set(key, snapshot);
    kept.push(snapshot);
  }
  return kept;
}

function commonTimeUnit(snapshots: readonly Snapshot[]): string | undefined {
  const units = new Set(snapshots.map((s) => s.timeUnit).filter((u): u is string => u !== undefined));
  if (units.size > 1) {
    const [first, second] = [...units];
    const a = snapshots.find((s) => s.timeUnit === first)!;
    const b = snapshots.find((s) => s.timeUnit === second)!;
    throw new InputFileError(`${b.path}: time unit ${JSON.stringify(second)} differs from ${JSON.stringify(first)} in ${basename(a.path)}`,
      'all snapshots in a folder must count time in the same unit');
  }
  return units.size === 1 ? [...units][0] : undefined;
}

/**
 * Runs `work` on every item, `limit` at a time. Every item runs even after a failure, and the failure
 * of the first item in order is thrown, so the file an error names does not depend on timing.
 */
async function mapLimited<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  const failures = new Map<number, unknown>();
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index]);
      } catch (error) {
        failures.set(index, error);
      }
    }
  });
  await Promise.all(workers);
  if (failures.size > 0) throw failures.get(Math.min(...failures.keys()));
  return results;
}
