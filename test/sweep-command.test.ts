import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { FIXTURES, makeTempDir, REPO_DIR, runCli } from './helpers/cli.js';

const F16_DIR = join(FIXTURES, 'snapshots-f16');
const QUADRATIC = `node ${join(FIXTURES, 'eval/quadratic.mjs')} {sigma_rel}`;

test('sweep checkpoints are byte-identical to separate reconstruct runs', async (t) => {
  const sweepDir = makeTempDir(t);
  const alone = makeTempDir(t);
  const grid = '0.03,0.06,...,0.24';
  const swept = await runCli(['sweep', F16_DIR, '--sigma-rel', grid, '--keep', 'all', '--out-dir', sweepDir, '--json']);
  assert.equal(swept.code, 0, swept.stderr);
  const report = JSON.parse(swept.stdout);
  assert.equal(report.targets.length, 8);
  for (const target of report.targets) {
    const out = join(alone, 'one.safetensors');
    const single = await runCli(['reconstruct', F16_DIR, '--sigma-rel', String(target.sigma_rel), '--out', out, '--force']);
    assert.equal(single.code, 0, single.stderr);
    assert.ok(readFileSync(target.checkpoint).equals(readFileSync(out)), `sigma_rel ${target.sigma_rel}`);
  }
});

/** Counts every byte read through fs/promises FileHandles while `work` runs (an independent tally). */
async function countBytesRead(work: () => Promise<unknown>): Promise<number> {
  const probe = await open(join(F16_DIR, readdirSync(F16_DIR)[0]), 'r');
  const prototype = Object.getPrototypeOf(probe);
  await probe.close();
  const original = prototype.read;
  let total = 0;
  prototype.read = async function (this: unknown, ...args: unknown[]) {
    const result = await original.apply(this, args);
    total += result.bytesRead;
    return result;
  };
  try {
    await work();
  } finally {
    prototype.read = original;
  }
  return total;
}

test('one pass reads every snapshot byte exactly once, whatever the number of targets', async (t) => {
  // Every byte of every file once (headers at discovery, data in the pass), except integer tensors,
  // which are copied from the latest snapshot only: the fixture has one 8-byte I64 counter per file.
  const files = readdirSync(F16_DIR);
  const snapshotBytes = files.reduce((sum, name) => sum + statSync(join(F16_DIR, name)).size, 0) - (files.length - 1) * 8;
  for (const grid of ['0.08', '0.02,0.03,...,0.25']) {
    const dir = makeTempDir(t);
    let code = -1;
    const bytes = await countBytesRead(async () => {
      code = (await runCli(['sweep', F16_DIR, '--sigma-rel', grid, '--keep', 'all', '--out-dir', dir])).code;
    });
    assert.equal(code, 0);
    assert.equal(bytes, snapshotBytes, `grid ${grid}: ${bytes} bytes read for ${snapshotBytes} bytes of snapshots`);
  }
});

test('without evaluation or kept checkpoints, a sweep writes nothing and reports fit errors', async (t) => {
  const dir = makeTempDir(t);
  const result = await runCli(['sweep', F16_DIR, '--sigma-rel', '0.02,0.05,0.1,0.25', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.deepEqual(report.passes, []);
  assert.ok(report.targets.every((x: { checkpoint: null; fit_error: number }) => x.checkpoint === null && x.fit_error >= 0));
  assert.equal(report.best, null);
  assert.deepEqual(readdirSync(dir), []);
});

test('finds the grid point nearest the optimum of a known metric, and --refine gets within 0.002', async (t) => {
  const dir = makeTempDir(t);
  // Grid 0.020, 0.045, ..., 0.245: nearest to the optimum 0.11 is 0.12.
  const grid = await runCli(['sweep', F16_DIR, '--sigma-rel', '0.020,0.045,...,0.245', '--eval-cmd', QUADRATIC, '--out-dir', dir, '--json']);
  assert.equal(grid.code, 0, grid.stderr);
  assert.equal(JSON.parse(grid.stdout).best.sigma_rel, 0.12);
  // Rerun with the same out-dir: the grid is already evaluated (resume), only refinement runs.
  const refined = await runCli(['sweep', F16_DIR, '--sigma-rel', '0.020,0.045,...,0.245', '--eval-cmd', QUADRATIC, '--out-dir', dir, '--refine', '6', '--json', '--jobs', '2']);
  assert.equal(refined.code, 0, refined.stderr);
  const report = JSON.parse(refined.stdout);
  assert.ok(Math.abs(report.best.sigma_rel - 0.11) < 0.002, `best ${report.best.sigma_rel}`);
  assert.ok(report.passes.every((p: { phase: string; targets: number }) => p.phase === 'refine' && p.targets === 1));
  // --keep best (the default with an evaluation) leaves only the best checkpoint.
  const kept = readdirSync(dir).filter((n) => n.endsWith('.safetensors'));
  assert.deepEqual(kept, [report.best.checkpoint.split('/').pop()]);
});

test('a failing evaluation marks its target failed with the stderr tail; the others go on', async (t) => {
  const dir = makeTempDir(t);
  const command = `node ${join(FIXTURES, 'eval/fail-at.mjs')} {sigma_rel} 0.08`;
  const result = await runCli(['sweep', F16_DIR, '--sigma-rel', '0.05,0.08,0.11', '--eval-cmd', command, '--out-dir', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  const failed = report.targets.find((x: { sigma_rel: number }) => x.sigma_rel === 0.08);
  assert.equal(failed.status, 'failed');
  assert.match(failed.reason, /exited with code 3/);
  assert.match(failed.stderr_tail, /CUDA out of memory/);
  assert.equal(report.best.sigma_rel, 0.11);
});

test('a sweep killed midway resumes without redoing finished targets', async (t) => {
  const dir = makeTempDir(t);
  const log = join(dir, 'evaluated.log');
  const command = `echo {sigma_rel} >> ${log} && sleep 0.3 && ${QUADRATIC}`;
  const args = ['sweep', F16_DIR, '--sigma-rel', '0.03,0.04,...,0.12', '--eval-cmd', command, '--out-dir', join(dir, 'out')];
  const child = spawn(process.execPath, [join(REPO_DIR, 'bin/ema-synth.js'), ...args], { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const results = join(dir, 'out', 'sweep.jsonl');
  const deadline = Date.now() + 60_000;
  while (!exited && !(existsSync(results) && readFileSync(results, 'utf8').split('\n').length > 3) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(!exited, 'the sweep ended before it could be killed');
  const closed = new Promise((r) => child.once('close', r));
  child.kill('SIGKILL');
  await closed;
  const firstRun = readFileSync(results, 'utf8').trim().split('\n').map((line) => JSON.parse(line).sigma_rel);
  assert.ok(firstRun.length >= 3 && firstRun.length < 10, `killed after ${firstRun.length} targets`);

  const before = readFileSync(log, 'utf8').trim().split('\n').length;
  const resumed = await runCli([...args, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const report = JSON.parse(resumed.stdout);
  assert.equal(report.targets.length, 10);
  assert.ok(report.targets.every((x: { status: string }) => x.status === 'ok'));
  const evaluatedAgain = readFileSync(log, 'utf8').trim().split('\n').slice(before).map(Number);
  for (const sigma of firstRun) assert.ok(!evaluatedAgain.includes(sigma), `sigma_rel ${sigma} was evaluated twice`);
  // Every target was evaluated by one run or the other. (An evaluation the kill interrupted is rightly
  // redone; its orphaned command may even log after the kill, so the lines are compared as sets.)
  assert.equal(new Set([...firstRun, ...evaluatedAgain]).size, 10);
});

test('sweep flags are checked before any work', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--sigma-rel', '0.1', '--eval-cmd', 'x {file}'], /--out-dir is needed/],
    [['--sigma-rel', '0.1', '--keep', 'best'], /--keep best needs an evaluation/],
    [['--sigma-rel', '0.1', '--refine', '3'], /--refine needs an evaluation/],
    [['--sigma-rel', '0.1', '--eval-cmd', 'x {nope}', '--out-dir', '/tmp/x'], /\{nope\}/],
    [['--sigma-rel', '0.1', '--plot', 'curve.pdf'], /\.svg or \.png|svg|png/],
    [['--sigma-rel', '0.1', '--jobs', '0', '--eval-cmd', 'x', '--out-dir', '/tmp/x'], /--jobs "0" must be a positive whole number/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(['sweep', F16_DIR, ...args]);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(' '));
  }
});

test('the JSON report states what one pass reads, and each pass read exactly that', async (t) => {
  const dir = makeTempDir(t);
  const result = await runCli(['sweep', F16_DIR, '--sigma-rel', '0.04,0.09', '--keep', 'all', '--out-dir', dir, '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  // Independent count from the fixture's layout: 1,139 float values of which 1,123 are F16 and 16 F32,
  // in each of 32 snapshots, plus one 8-byte counter read once.
  assert.equal(report.snapshot_bytes, 32 * (1123 * 2 + 16 * 4) + 8);
  assert.deepEqual(report.passes, [{ phase: 'grid', targets: 2, bytes_read: report.snapshot_bytes }]);
});
