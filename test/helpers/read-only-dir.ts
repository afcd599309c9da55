/**
 * Runs a shell command that must find `dir` read-only. Root ignores folder permissions (and CI runs
 * as root), so as root `dir` becomes a read-only tmpfs mounted in a private mount namespace, gone when
 * the command ends; otherwise the folder is chmod 555 for the command's duration. Returns the
 * command's result, or the reason it could not run (no mount namespace here) for `t.skip(reason)`.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync } from 'node:fs';

export function runWithReadOnlyDir(dir: string, command: string): SpawnSyncReturns<string> | { readonly unavailable: string } {
  if (process.getuid?.() !== 0) {
    chmodSync(dir, 0o555);
    try {
      return spawnSync('bash', ['-c', command], { encoding: 'utf8' });
    } finally {
      chmodSync(dir, 0o755);
    }
  }
  const mounted = '__ema_synth_read_only_mounted__';
  const result = spawnSync('unshare', ['-m', 'bash', '-c', `mount -t tmpfs -o ro,size=1m none "${dir}" && echo ${mounted} >&2 && ${command}`], { encoding: 'utf8' });
  if (result.error !== undefined || !result.stderr.includes(mounted)) {
    return { unavailable: `cannot mount a read-only tmpfs as root here (${(result.error?.message ?? result.stderr).trim()})` };
  }
  return { ...result, stderr: result.stderr.replace(`${mounted}\n`, '') };
}

/** Skips with the reason, except in CI (`.ci/run` sets EMA_SYNTH_CI=1), where the check must run. */
export function requireInCi(t: { skip(message: string): void }, reason: string): void {
  if (process.env.EMA_SYNTH_CI === '1') throw new Error(`${reason}; CI must run this check (as root with mount namespaces, or as a user)`);
  t.skip(`read-only folder not checked: ${reason}`);
}
