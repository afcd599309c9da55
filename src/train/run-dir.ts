/**
 * RUN_DIR handling: a fresh run needs a missing or empty folder (or --force, which removes only
 * what a previous run wrote there); --resume needs the folder's checkpoint.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InputFileError, OutputError } from '../errors.js';
import { CHECKPOINT_FILE } from './checkpoint.js';
import { outputError } from '../io/output-error.js';

/** Everything a run writes in RUN_DIR; --force removes these and nothing else. */
export const RUN_OUTPUTS = ['snapshots', 'raw', CHECKPOINT_FILE, 'log.jsonl', 'config.json'] as const;

/** Checks RUN_DIR against the mode without changing anything (so bad flags leave no trace). */
export async function checkRunDir(runDir: string, mode: { resume: boolean; force: boolean }): Promise<void> {
  await inspectRunDir(runDir, mode);
}

/** Checks again, then with --force removes the previous run's outputs, and creates the folder. */
export async function prepareRunDir(runDir: string, mode: { resume: boolean; force: boolean }): Promise<void> {
  const entries = await inspectRunDir(runDir, mode);
  if (mode.resume) return;
  if (entries !== undefined && entries.length > 0) {
    for (const name of RUN_OUTPUTS) await rm(join(runDir, name), { recursive: true, force: true });
  }
  try {
    await mkdir(runDir, { recursive: true });
  } catch (cause) {
    throw outputError(`--out ${runDir}`, 'create the run folder', cause);
  }
}

async function inspectRunDir(runDir: string, mode: { resume: boolean; force: boolean }): Promise<string[] | undefined> {
  const entries = await readdir(runDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw outputError(`--out ${runDir}`, 'read the run folder', error);
  });
  if (mode.resume) {
    const hasCheckpoint = await stat(join(runDir, CHECKPOINT_FILE)).then(() => true, () => false);
    if (!hasCheckpoint) {
      // A missing input file, like any other (exit 1).
      throw new InputFileError(`--resume: ${join(runDir, CHECKPOINT_FILE)} does not exist`, 'start the run without --resume first');
    }
    return entries;
  }
  if (entries !== undefined && entries.length > 0) {
    if (!mode.force) {
      // An existing output, refused as reconstruct refuses one (exit 1).
      throw new OutputError(
        `--out ${runDir}: the folder is not empty`,
        'use --resume to continue the run in it, --force to start over (removes its snapshots, raw weights, checkpoint and logs), or another folder',
      );
    }
  }
  return entries;
}
