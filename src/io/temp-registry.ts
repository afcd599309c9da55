import { unlinkSync } from 'node:fs';
import { readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Every temporary file ema-synth is writing, so that a signal handler (installed by the CLI) can
 * remove them before exiting. After SIGKILL nothing runs: the names are then recognisable
 * (`.<final name>.ema-synth-tmp-<pid>-<random>`) and the next run ignores or removes them.
 */
const live = new Set<string>();

const TEMP_MARKER = '.ema-synth-tmp-';
const TEMP_PATTERN = /^\..*\.ema-synth-tmp-(\d+)-[0-9a-f]+$/;

/** A fresh temporary path beside `finalPath` (same folder, so the final rename stays on one filesystem). */
export function tempPathFor(finalPath: string): string {
  const name = `.${basename(finalPath)}${TEMP_MARKER}${process.pid}-${randomBytes(6).toString('hex')}`;
  return join(dirname(finalPath), name);
}

/** True for file names made by tempPathFor: discovery must never take them for snapshots. */
export function isTempFileName(name: string): boolean {
  return TEMP_PATTERN.test(basename(name));
}

export function registerTempFile(path: string): void {
  live.add(path);
}

export function unregisterTempFile(path: string): void {
  live.delete(path);
}

export function liveTempFiles(): string[] {
  return [...live];
}

/**
 * Removes every registered temporary file. Synchronous on purpose: it runs from signal handlers
 * just before the process exits, when no further event-loop turn is guaranteed. Returns how many
 * files were removed.
 */
export function removeAllTempFiles(): number {
  let removed = 0;
  for (const path of live) {
    try {
      unlinkSync(path);
      removed++;
    } catch {
      // Already gone, or the folder vanished: nothing left to clean.
    }
    live.delete(path);
  }
  return removed;
}

/**
 * Removes temporary files left in `dir` by ema-synth processes that no longer run (after a
 * SIGKILL or a power cut). Files of live processes are left alone: they may be mid-write.
 * Returns the names removed.
 */
export async function removeStaleTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const match = TEMP_PATTERN.exec(name);
    if (match === null) continue;
    const pid = Number(match[1]);
    if (pid === process.pid ? live.has(join(dir, name)) : isAlive(pid)) continue;
    try {
      await unlink(join(dir, name));
      removed.push(name);
    } catch {
      // Another process cleaned it first.
    }
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
