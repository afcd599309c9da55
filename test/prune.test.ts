import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { applyRemovals, MANIFEST_NAME, stampFiles } from '../src/prune/apply-removals.js';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';

const F16_DIR = join(FIXTURES, 'snapshots-f16');
const TARGETS = '0.05,0.06,...,0.15';

interface PruneJson {
  put_back: number;
  remove: Array<{ file: string; bytes: number }>;
  bytes_freed: number;
  snapshots_after: number;
  fit: Array<{ time: number; targets: Array<{ sigma_rel: number; before: number; after: number; limit: number | null }> }>;
  applied: { mode: string; trash_dir: string | null; manifest: string } | null;
}
interface InspectJson { fit: Array<{ sigma_rel: number; fit_error: number }> }

function copyFolder(t: { after(fn: () => void): void }, from: string, except: ReadonlySet<string> = new Set()): string {
  const dir = join(makeTempDir(t), 'snapshots');
  mkdirSync(dir);
  for (const name of readdirSync(from)) if (!except.has(name)) copyFileSync(join(from, name), join(dir, name));
  return dir;
}

async function inspectFit(dir: string, time: number): Promise<Map<number, number>> {
  const result = await runCli(['inspect', dir, '--sigma-rel', TARGETS, '--time', String(time), '--json']);
  assert.equal(result.code, 0, result.stderr);
  return new Map((JSON.parse(result.stdout) as InspectJson).fit.map((f) => [f.sigma_rel, f.fit_error]));
}

for (const [criterion, allowed] of [['0.1pp', (e: number) => e + 0.001], ['20%', (e: number) => e * 1.2]] as const) {
  test(`prune --max-fit-error-increase ${criterion}: inspect on the remaining files finds every target within the bound`, async (t) => {
    const result = await runCli(['prune', F16_DIR, '--sigma-rel', TARGETS, '--times', '50%,latest', '--max-fit-error-increase', criterion, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const report = JSON.parse(result.stdout) as PruneJson;
    assert.ok(report.remove.length >= 4, `only ${report.remove.length} files removed`);
    assert.equal(report.fit.length, 2);
    assert.equal(report.put_back, 0, 'the greedy kept the bound by itself (the exact check had nothing to put back)');
    // Independent recomputation: `inspect` on a folder holding only the files prune keeps.
    const kept = copyFolder(t, F16_DIR, new Set(report.remove.map((r) => r.file)));
    assert.equal(readdirSync(kept).length, 32 - report.remove.length);
    const all = copyFolder(t, F16_DIR);
    for (const { time, targets } of report.fit) {
      const [before, after] = [await inspectFit(all, time), await inspectFit(kept, time)];
      for (const target of targets) {
        const limit = allowed(before.get(target.sigma_rel)!);
        assert.ok(after.get(target.sigma_rel)! <= limit, `sigma_rel ${target.sigma_rel} at ${time}: ${before.get(target.sigma_rel)} -> ${after.get(target.sigma_rel)} > ${limit}`);
        assert.equal(target.before, before.get(target.sigma_rel), 'the reported errors are the exact ones');
        assert.equal(target.after, after.get(target.sigma_rel));
      }
    }
  });
}

test('prune without --apply touches nothing, and lists files, bytes freed and errors as text', async (t) => {
  const dir = copyFolder(t, F16_DIR);
  const stamps = await stampFiles(readdirSync(dir).map((n) => join(dir, n)));
  const result = await runCli(['prune', dir, '--sigma-rel', TARGETS, '--keep', '20']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /remove 12 \(/);
  assert.match(result.stdout, /greedy backward elimination \(a heuristic/);
  assert.match(result.stdout, /dry run: nothing was touched/);
  assert.deepEqual(await stampFiles(readdirSync(dir).map((n) => join(dir, n))), stamps);
});

test('prune --budget keeps the folder within the budget; the latest snapshots are always kept', async () => {
  const bytes = statSync(join(F16_DIR, readdirSync(F16_DIR)[0])).size;
  const result = await runCli(['prune', F16_DIR, '--sigma-rel', TARGETS, '--budget', String(bytes * 10.5), '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as PruneJson & { bytes_after: number; goal_reached: boolean };
  assert.equal(report.snapshots_after, 10);
  assert.ok(report.bytes_after <= bytes * 10.5);
  assert.ok(!report.remove.some((r) => r.file.includes('0000065')), 'a snapshot of the latest time was removed');
  const tooFew = JSON.parse((await runCli(['prune', F16_DIR, '--keep', '1', '--json'])).stdout) as PruneJson & { goal_reached: boolean };
  assert.equal(tooFew.snapshots_after, 2);
  assert.equal(tooFew.goal_reached, false);
});

test('prune --apply --trash moves the files there and records them in prune-manifest.json', async (t) => {
  const dir = copyFolder(t, F16_DIR);
  const trash = join(dir, '..', 'trash');
  const result = await runCli(['prune', dir, '--sigma-rel', TARGETS, '--max-fit-error-increase', '0.1pp', '--apply', '--trash', trash, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as PruneJson;
  const removed = report.remove.map((r) => r.file).sort();
  assert.deepEqual(readdirSync(trash).sort(), removed);
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.safetensors')).length, 32 - removed.length);
  const manifest = JSON.parse(readFileSync(join(dir, MANIFEST_NAME), 'utf8'));
  assert.equal(manifest.runs.length, 1);
  assert.ok(manifest.runs[0].finished !== null);
  assert.deepEqual(manifest.runs[0].files.map((f: { file: string; state: string }) => [f.file, f.state]).sort(), removed.map((f) => [f, 'in trash']));
  assert.deepEqual(manifest.runs[0].details.fit, report.fit, 'the manifest keeps the errors before and after');
  // A second run appends to the manifest rather than replacing it; the folder still reads.
  const again = await runCli(['prune', dir, '--sigma-rel', TARGETS, '--keep', '20', '--apply', '--delete']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(readdirSync(dir).filter((n) => n.endsWith('.safetensors')).length, 20);
  assert.equal(JSON.parse(readFileSync(join(dir, MANIFEST_NAME), 'utf8')).runs.length, 2);
});

test('a file changed since it was read stops --apply before anything is removed', async (t) => {
  const dir = copyFolder(t, F16_DIR);
  const paths = readdirSync(dir).map((n) => join(dir, n));
  const stamps = await stampFiles(paths);
  const later = new Date(Date.now() + 5000);
  utimesSync(paths[20], later, later);
  await assert.rejects(
    applyRemovals(stamps.slice(0, 3), stamps, { snapshotDir: dir, mode: 'delete', details: null }),
    (error: Error) => error.message.includes(paths[20]) && /modification time changed.*nothing was removed/.test(error.message),
  );
  assert.equal(readdirSync(dir).length, 32);
  assert.ok(!existsSync(join(dir, MANIFEST_NAME)));
});

test('a trash folder on another filesystem is refused before anything moves', async (t) => {
  const otherFs = '/dev/shm';
  if (!existsSync(otherFs) || statSync(otherFs).dev === statSync(makeTempDir(t)).dev) {
    t.skip('no second filesystem here');
    return;
  }
  const dir = copyFolder(t, F16_DIR);
  const trash = join(otherFs, `ema-synth-trash-${process.pid}`);
  const result = await runCli(['prune', dir, '--keep', '20', '--apply', '--trash', trash]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /another filesystem/);
  assert.equal(readdirSync(dir).length, 32);
  assert.ok(!existsSync(trash), 'the trash folder it created was removed again');
});

test('prune reads ema-pytorch folders of .pt files too', async () => {
  const result = await runCli(['prune', join(FIXTURES, 'pytorch/ema-pytorch'), '--profiles', '0.05,0.2', '--sigma-rel', '0.1', '--keep', '4', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as PruneJson;
  assert.equal(report.snapshots_after, 4);
  assert.ok(report.remove.every((r) => r.file.endsWith('.pt')));
});

test('prune refuses unclear requests with one error line naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['prune', F16_DIR], /exactly one of --max-fit-error-increase, --keep and --budget/],
    [['prune', F16_DIR, '--keep', '3', '--budget', '1GB'], /exactly one of/],
    [['prune', F16_DIR, '--max-fit-error-increase', '0.1'], /--max-fit-error-increase "0.1": expected percentage points/],
    [['prune', F16_DIR, '--keep', '3', '--trash', 'x'], /--trash does nothing without --apply/],
    [['prune', F16_DIR, '--keep', '3', '--apply'], /--apply needs exactly one of --trash DIR and --delete/],
    [['prune', F16_DIR, '--keep', '3', '--times', '1'], /--times "1": '1' \(time 1\) is before the first snapshot/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, 2, args.join(' '));
    assert.match(result.stderr, message);
  }
});
