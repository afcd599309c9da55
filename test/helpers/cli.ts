/** Runs the CLI in-process with captured streams, or as a real process through bin/ema-synth.js. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../src/cli/main.js';

export const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = join(REPO_DIR, 'fixtures');

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export async function runCli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run([...args], {
    stdout: { write: (text: string) => { stdout += text; return true; } },
    stderr: { write: (text: string) => { stderr += text; return true; }, isTTY: false },
    env,
  });
  return { code, stdout, stderr };
}

/** The installed entry point, as users run it (needs `npm run build`, which `npm test` does first). */
export function spawnCli(args: readonly string[], options: { cwd?: string; input?: string } = {}): CliResult {
  const result = spawnSync(process.execPath, [join(REPO_DIR, 'bin/ema-synth.js'), ...args], {
    cwd: options.cwd ?? REPO_DIR, encoding: 'utf8', input: options.input ?? '', env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

export function makeTempDir(t: { after(fn: () => void): void }, prefix = 'ema-synth-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
