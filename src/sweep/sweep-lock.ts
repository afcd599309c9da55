/**
 * One sweep per folder: `<out-dir>/sweep.lock` holds the running sweep's pid and host, so a second
 * sweep on the same folder refuses instead of interleaving sweep.jsonl lines or deleting the first
 * one's checkpoints. The lock is created complete or not at all (written to a private temporary
 * file, then hard-linked to its name, which fails atomically when the name exists). A lock left by
 * a process that no longer runs on this host (a SIGKILL, a crash, a reboot) is taken over with a
 * note; a lock from another host cannot be checked from here, so it is reported with the way out.
 */
import { link, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { OutputError } from '../errors.js';

export const SWEEP_LOCK_FILE = 'sweep.lock';

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
}

export interface HeldLock {
  readonly file: string;
  /** Set when a stale lock was taken over: what to tell the user. */
  readonly note?: string;
  release(): Promise<void>;
}

export async function acquireSweepLock(outDir: string, owner: LockOwner = currentOwner()): Promise<HeldLock> {
  const file = join(outDir, SWEEP_LOCK_FILE);
  const temp = `${file}.${owner.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(owner)}\n`).catch((error: Error) => {
    throw new OutputError(`cannot write the lock file ${file}: ${error.message}`, undefined, error);
  });
  try {
    if (await tryLink(temp, file)) return held(file, owner);
    const holder = await readOwner(file);
    if (holder === undefined || holder.host !== owner.host || isAlive(holder.pid)) throw busy(file, holder, owner);
    // A dead process on this host: replace its lock, then read back, in case another sweep did the same.
    await rename(temp, file);
    const now = await readOwner(file);
    if (now?.pid !== owner.pid || now.host !== owner.host) throw busy(file, now, owner);
    return held(file, owner, `${file}: took over the lock of process ${holder.pid}, which is no longer running (started ${holder.started}); resuming its sweep`);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

function held(file: string, owner: LockOwner, note?: string): HeldLock {
  return {
    file,
    ...(note === undefined ? {} : { note }),
    async release() {
      // Only our own lock: never remove one another sweep took over meanwhile.
      const now = await readOwner(file);
      if (now?.pid === owner.pid && now.host === owner.host) await unlink(file).catch(() => undefined);
    },
  };
}

function currentOwner(): LockOwner {
  return { pid: process.pid, host: hostname(), started: new Date().toISOString() };
}

async function tryLink(from: string, to: string): Promise<boolean> {
  try {
    await link(from, to);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new OutputError(`cannot create the lock file ${to}: ${(error as Error).message}`, undefined, error);
  }
}

async function readOwner(file: string): Promise<LockOwner | undefined> {
  try {
    const value = JSON.parse(await readFile(file, 'utf8')) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string') return undefined;
    return { pid: value.pid, host: value.host, started: String(value.started ?? 'at an unknown time') };
  } catch {
    return undefined;
  }
}

/** Signal 0 checks existence only; EPERM means it exists under another user. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function busy(file: string, holder: LockOwner | undefined, owner: LockOwner): OutputError {
  const who = holder === undefined ? 'another sweep (its lock file is unreadable)'
    : `process ${holder.pid} on ${holder.host === owner.host ? 'this host' : `host ${holder.host}`} (started ${holder.started})`;
  const hint = holder !== undefined && holder.host !== owner.host
    ? `if that sweep is no longer running (its host cannot be checked from here), delete ${file} and rerun`
    : `wait for it to finish, or use another --out-dir; if no sweep is running, delete ${file}`;
  return new OutputError(`${file}: the folder is in use by ${who}; two sweeps must not share an --out-dir`, hint);
}
