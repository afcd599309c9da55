/**
 * `prune --apply`: the only code that touches snapshot files. Before anything is removed, every
 * file is checked against the size and mtime it had when the choice was computed; then the
 * manifest (prune-manifest.json in the snapshot folder) is written, and rewritten before each file,
 * so that if the run is killed at any point every file is in place or in the trash, and the
 * manifest says which (a file marked `moving` or `deleting` is the one in flight: in exactly one
 * of the two places for `moving`, in place or gone for `deleting`).
 */
import { mkdir, readFile, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { InputFileError, OutputError, UsageError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-output.js';

export interface FileStamp {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

export type FileState = 'in place' | 'moving' | 'in trash' | 'deleting' | 'deleted';

export interface ManifestFile {
  readonly file: string;
  readonly bytes: number;
  readonly mtime_ms: number;
  state: FileState;
}

/** One prune run in the manifest; `details` carries the report (criterion, errors before and after). */
export interface ManifestRun {
  readonly started: string;
  finished: string | null;
  readonly mode: 'trash' | 'delete';
  readonly trash_dir: string | null;
  readonly details: unknown;
  readonly files: ManifestFile[];
}

export const MANIFEST_NAME = 'prune-manifest.json';

export async function stampFiles(paths: readonly string[]): Promise<FileStamp[]> {
  return Promise.all(paths.map(async (path) => {
    const info = await stat(path).catch((error: unknown) => { throw new InputFileError(`${path}: cannot stat (${(error as Error).message})`); });
    return { path, size: info.size, mtimeMs: info.mtimeMs };
  }));
}

/** Throws, naming the first file whose size or mtime differs from its stamp (or that is gone). */
export async function checkUnchanged(stamps: readonly FileStamp[]): Promise<void> {
  for (const stamp of stamps) {
    const info = await stat(stamp.path).catch(() => undefined);
    const why = info === undefined ? 'it is gone'
      : info.size !== stamp.size ? `its size changed from ${stamp.size} to ${info.size} bytes`
        : info.mtimeMs !== stamp.mtimeMs ? 'its modification time changed' : undefined;
    if (why !== undefined) {
      throw new InputFileError(`${stamp.path}: ${why} since the snapshots were read; nothing was removed`, 'is training still writing to this folder? Run prune again once it has stopped');
    }
  }
}

/**
 * Refuses a trash folder on another filesystem (a rename there would be a copy, not atomic) or one
 * that already holds a file of the same name. Creates the folder if needed.
 */
export async function prepareTrash(snapshotDir: string, trashDir: string, names: readonly string[]): Promise<void> {
  const existed = await stat(trashDir).then((info) => info.isDirectory() || 'not a folder', () => false);
  if (existed === 'not a folder') throw new UsageError(`--trash ${trashDir}: exists and is not a folder`);
  if (!existed) await mkdir(trashDir, { recursive: true }).catch((error: unknown) => { throw new OutputError(`--trash ${trashDir}: cannot create (${(error as Error).message})`); });
  const [from, to] = await Promise.all([stat(snapshotDir), stat(trashDir)]);
  if (from.dev !== to.dev) {
    if (!existed) await rmdir(trashDir).catch(() => undefined);
    throw new UsageError(`--trash ${trashDir}: on another filesystem than ${snapshotDir}, so files could not be moved there atomically`, 'choose a trash folder on the same disk (e.g. inside the run folder), or use --delete');
  }
  for (const name of names) {
    if (await stat(join(trashDir, name)).then(() => true, () => false)) {
      throw new OutputError(`${join(trashDir, name)}: already exists; nothing was removed`, 'empty the trash folder or choose another');
    }
  }
}

export interface ApplyOptions {
  readonly snapshotDir: string;
  readonly mode: 'trash' | 'delete';
  readonly trashDir?: string;
  readonly details: unknown;
  /** Wait this long after each file is moved, before the manifest records it (tests interrupt there). */
  readonly pauseMs?: number;
}

/** Removes the files, stamped when the choice was made; `all` are every snapshot the choice relied on. */
export async function applyRemovals(removed: readonly FileStamp[], all: readonly FileStamp[], options: ApplyOptions): Promise<ManifestRun> {
  await checkUnchanged(all);
  if (options.mode === 'trash') await prepareTrash(options.snapshotDir, options.trashDir!, removed.map((s) => basename(s.path)));
  const manifestPath = join(options.snapshotDir, MANIFEST_NAME);
  const earlier = await readEarlierRuns(manifestPath);
  const run: ManifestRun = {
    started: new Date().toISOString(), finished: null, mode: options.mode, trash_dir: options.trashDir ?? null, details: options.details,
    files: removed.map((s) => ({ file: basename(s.path), bytes: s.size, mtime_ms: s.mtimeMs, state: 'in place' })),
  };
  const save = (): Promise<void> => writeFileAtomic(manifestPath, `${JSON.stringify({ format: 'ema-synth prune manifest', version: 1, runs: [...earlier, run] }, null, 2)}\n`, { force: true });
  await save();
  for (const [i, stamp] of removed.entries()) {
    await checkUnchanged([stamp]);
    const entry = run.files[i];
    entry.state = options.mode === 'trash' ? 'moving' : 'deleting';
    await save();
    try {
      if (options.mode === 'trash') await rename(stamp.path, join(options.trashDir!, entry.file));
      else await unlink(stamp.path);
    } catch (error) {
      entry.state = 'in place';
      await save();
      throw new OutputError(`${stamp.path}: cannot ${options.mode === 'trash' ? 'move to the trash' : 'delete'} (${(error as Error).message}); ${i} file(s) were removed, see ${manifestPath}`);
    }
    // Tests interrupt here, in the one state the manifest cannot settle (file moved, not yet recorded).
    if (options.pauseMs) await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    // Recorded with the next file's `moving` (one manifest write per file, not two).
    entry.state = options.mode === 'trash' ? 'in trash' : 'deleted';
  }
  run.finished = new Date().toISOString();
  await save();
  return run;
}

async function readEarlierRuns(path: string): Promise<unknown[]> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return [];
  try {
    const parsed = JSON.parse(text) as { runs?: unknown };
    if (Array.isArray(parsed.runs)) return parsed.runs;
  } catch {
    // fall through
  }
  throw new InputFileError(`${path}: exists but is not a prune manifest; nothing was removed`, 'move it aside so its record is not lost');
}
