import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MANIFEST_NAME } from '../src/prune/apply-removals.js';
import { FIXTURES, makeTempDir, REPO_DIR } from './helpers/cli.js';

interface ManifestFile { file: string; state: string }

function readManifest(path: string): ManifestFile[] | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')).runs[0].files;
  } catch {
    return undefined; // not written yet
  }
}

// The installed entry point (dist/, built by `npm test`), killed with SIGKILL between two moves:
// EMA_SYNTH_PRUNE_PAUSE_MS holds it 300 ms after each move, before the manifest records it, so the
// kill lands in the one state the manifest cannot settle: that file must be marked `moving`.
test('SIGKILL during prune --apply --trash leaves every file in place or in the trash, as the manifest says', async (t) => {
  const root = makeTempDir(t);
  const dir = join(root, 'snapshots');
  const trash = join(root, 'trash');
  mkdirSync(dir);
  const names = readdirSync(join(FIXTURES, 'snapshots-f16'));
  for (const name of names) copyFileSync(join(FIXTURES, 'snapshots-f16', name), join(dir, name));
  const child = spawn(process.execPath, [join(REPO_DIR, 'bin/ema-synth.js'), 'prune', dir, '--sigma-rel', '0.05,0.06,...,0.15',
    '--max-fit-error-increase', '0.1pp', '--apply', '--trash', trash], { env: { ...process.env, EMA_SYNTH_PRUNE_PAUSE_MS: '300' }, stdio: 'ignore' });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  const manifestPath = join(dir, MANIFEST_NAME);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline && (readManifest(manifestPath)?.filter((f) => f.state === 'in trash').length ?? 0) < 2) await sleep(20);
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
  const files = readManifest(manifestPath)!;
  const counts = { place: 0, trash: 0, flight: 0 };
  assert.ok(files.length >= 4, `${files.length} files chosen`);
  for (const { file, state } of files) {
    const [here, there] = [existsSync(join(dir, file)), existsSync(join(trash, file))];
    assert.ok(here !== there, `${file} is ${here ? 'in both places' : 'in neither place'}`);
    if (state === 'in place') { assert.ok(here, `${file}: manifest says in place`); counts.place++; }
    else if (state === 'in trash') { assert.ok(there, `${file}: manifest says in trash`); counts.trash++; }
    else { assert.equal(state, 'moving'); counts.flight++; }
  }
  assert.ok(counts.trash >= 2 && counts.place >= 1 && counts.flight === 1, JSON.stringify(counts));
  // Every file prune did not choose is untouched.
  const chosen = new Set(files.map((f) => f.file));
  for (const name of names) if (!chosen.has(name)) assert.ok(existsSync(join(dir, name)), name);
  t.diagnostic(`killed with ${counts.trash} in the trash, ${counts.place} in place, ${counts.flight} in flight`);
});
