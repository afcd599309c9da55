/**
 * The raw-I/O yardsticks of issue 6, timed with ordinary tools in the same run as ema-synth:
 * reading the snapshot bytes once (`cat` to /dev/null) and writing K outputs of one snapshot's size
 * durably (`dd ... conv=fsync`, since ema-synth fsyncs every output before moving it into place).
 * Also a cold-cache helper, which needs root and a writable /proc/sys/vm/drop_caches.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export async function spawnTimed(command: string, args: readonly string[], stdout: 'ignore' | 'pipe' = 'ignore', timeoutMs = 0): Promise<{ ms: number; code: number | null; out: string; timedOut: boolean }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', stdout, 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout?.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.stderr?.on('data', (chunk: Buffer) => { err += chunk.toString(); });
    const timer = timeoutMs > 0 ? setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, timeoutMs) : undefined;
    child.on('error', reject);
    child.on('close', (code) => {
      if (timer) clearTimeout(timer);
      const ms = performance.now() - start;
      if (code !== 0 && !timedOut) reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${err.slice(-500)}`));
      else resolve({ ms, code, out, timedOut });
    });
  });
}

/** Wall time of `cat files > /dev/null` (one process, sequential reads). */
export async function catMs(paths: readonly string[]): Promise<number> {
  const { ms } = await spawnTimed('sh', ['-c', 'cat "$@" > /dev/null', 'cat', ...paths]);
  return ms;
}

/** Wall time of writing `count` files of `bytes` each with dd in 1 MiB blocks, each fsynced; removed afterwards. */
export async function ddWriteMs(dir: string, count: number, bytes: number): Promise<number> {
  const blocks = Math.ceil(bytes / (1 << 20));
  const script = `i=0; while [ $i -lt ${count} ]; do dd if=/dev/zero of="$0/dd-$i" bs=1M count=${blocks} conv=fsync status=none || exit 1; i=$((i+1)); done`;
  try {
    const { ms } = await spawnTimed('sh', ['-c', script, dir]);
    return ms;
  } finally {
    await Promise.all(Array.from({ length: count }, (_, i) => rm(join(dir, `dd-${i}`), { force: true })));
  }
}

/** Drops the page cache (after a sync); returns why it could not, or undefined on success. */
export function dropCaches(): string | undefined {
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return undefined;
  } catch (error) {
    return `cannot drop the page cache (${(error as NodeJS.ErrnoException).code ?? String(error)}): cold figures need root and a writable /proc/sys/vm/drop_caches`;
  }
}

export async function syncAndDropCaches(): Promise<string | undefined> {
  await spawnTimed('sync', []);
  return dropCaches();
}
