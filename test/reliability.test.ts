import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, statSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeSafetensorsFile } from '../src/safetensors/writer.js';
import { FIXTURES, makeTempDir, REPO_DIR, runCli } from './helpers/cli.js';
import { requireInCi, runWithReadOnlyDir } from './helpers/read-only-dir.js';

const F32_DIR = join(FIXTURES, 'snapshots-f32');
const BIN = join(REPO_DIR, 'bin/ema-synth.js');

function copyFixtures(dir: string): void {
  for (const name of readdirSync(F32_DIR)) copyFileSync(join(F32_DIR, name), join(dir, name));
}

/** Snapshots large enough (4 x 48 MB) that a reconstruction takes a moment to interrupt. */
async function writeLargeSnapshots(dir: string): Promise<void> {
  const data = new Uint8Array(48 * 1024 * 1024);
  for (let k = 1; k <= 4; k++) {
    for (const sigma of ['0.05', '0.1']) {
      await writeSafetensorsFile(join(dir, `s-${k}-${sigma}.safetensors`), [{ name: 'w', dtype: 'F32', shape: [data.length / 4], data }],
        { ema_sigma_rel: sigma, ema_time: String(k * 1000) });
    }
  }
}

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} during a reconstruction removes temporary files and exits ${code}`, async (t) => {
    const dir = makeTempDir(t);
    const snapshots = join(dir, 'snapshots');
    const out = join(dir, 'out');
    mkdirSync(snapshots);
    mkdirSync(out);
    await writeLargeSnapshots(snapshots);
    const child = spawn(process.execPath, [BIN, 'reconstruct', snapshots, '--sigma-rel', '0.03,0.06,...,0.27', '--out-dir', out], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.once('close', (status) => resolve(status)));
    const deadline = Date.now() + 30_000;
    while (readdirSync(out).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(readdirSync(out).every((name) => name.includes('.ema-synth-tmp-')), 'only temporary files while writing');
    child.kill(signal);
    assert.equal(await closed, code, stderr);
    assert.match(stderr, new RegExp(`error: interrupted by ${signal}`));
    assert.deepEqual(readdirSync(out), [], 'no temporary or partial output left');
  });
}

test('a full disk (EFBIG under ulimit -f) gives a clear error and no partial output', async (t) => {
  const dir = makeTempDir(t);
  const snapshots = join(dir, 'snapshots');
  const out = join(dir, 'out');
  mkdirSync(snapshots);
  mkdirSync(out);
  const data = new Uint8Array(4 * 1024 * 1024);
  for (const sigma of ['0.05', '0.1']) {
    await writeSafetensorsFile(join(snapshots, `s-${sigma}.safetensors`), [{ name: 'w', dtype: 'F32', shape: [data.length / 4], data }], { ema_sigma_rel: sigma, ema_time: '1000' });
  }
  // ulimit -f 1024: no file may exceed 1 MiB, the output needs 4 MiB. SIGXFSZ is ignored so the write fails with EFBIG.
  const script = `trap '' XFSZ; ulimit -f 1024; exec "${process.execPath}" "${BIN}" reconstruct "${snapshots}" --sigma-rel 0.08 --out-dir "${out}"`;
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /^error: .*ema-sigma0\.08-time1000\.safetensors: .*/m);
  assert.match(result.stderr, /too large|EFBIG|limit/i);
  assert.deepEqual(readdirSync(out), [], 'no output and no temporary file remain');
});

test('a truncated last snapshot (a training job still writing) is named as such; --skip-invalid skips it', async (t) => {
  const dir = makeTempDir(t);
  copyFixtures(dir);
  const last = join(dir, 'snapshot-0000065-0.100.safetensors');
  truncateSync(last, statSync(last).size - 100);
  const stopped = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run']);
  assert.equal(stopped.code, 1);
  assert.match(stopped.stderr, /snapshot-0000065-0\.100\.safetensors: .*truncated/);
  assert.match(stopped.stderr, /hint: .*still writing/);
  const skipped = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run', '--skip-invalid', '--json']);
  assert.equal(skipped.code, 0, skipped.stderr);
  assert.match(skipped.stderr, /warning: skipped .*snapshot-0000065-0\.100\.safetensors/);
  assert.equal(JSON.parse(skipped.stdout).snapshots_used, 31);
});

test('outputs written into the snapshot folder are not taken for snapshots on the next run', async (t) => {
  const dir = makeTempDir(t);
  copyFixtures(dir);
  assert.equal((await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--out-dir', dir])).code, 0);
  const again = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run', '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).snapshots_used, 32);
  assert.match(again.stderr, /skipped .*ema-sigma0\.08-time65536\.safetensors: it is a reconstruction written by ema-synth/);
});

test('leftover temporary files from a killed run are never read as snapshots, and the next write removes them', async (t) => {
  const dir = makeTempDir(t);
  copyFixtures(dir);
  // pid 2^22 + 1 is above Linux's pid_max, so no live process owns this file.
  const leftover = '.ema.safetensors.ema-synth-tmp-4194305-abcdef';
  writeFileSync(join(dir, leftover), 'half a file');
  const result = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--dry-run', '--json']);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(JSON.parse(result.stdout).snapshots_used, 32);
  assert.ok(readdirSync(dir).includes(leftover), 'a dry run writes nothing, so it removes nothing');
  assert.equal((await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--out-dir', dir])).code, 0);
  assert.ok(!readdirSync(dir).includes(leftover));
});

test('symlinked snapshot files are followed; inputs are never modified', async (t) => {
  const dir = makeTempDir(t);
  for (const name of readdirSync(F32_DIR)) symlinkSync(join(F32_DIR, name), join(dir, name));
  const before = readdirSync(F32_DIR).map((name) => statSync(join(F32_DIR, name)).mtimeMs);
  const out = join(makeTempDir(t), 'ema.safetensors');
  const result = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--out', out]);
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(readdirSync(F32_DIR).map((name) => statSync(join(F32_DIR, name)).mtimeMs), before);
  const through = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--out', join(dir, 'snapshot-0000065-0.050.safetensors'), '--force']);
  assert.equal(through.code, 2, 'an output path that is a symlink to a snapshot is refused too');
});

test('a missing or read-only output folder is a clear error before any work', async (t) => {
  const missing = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', join(makeTempDir(t), 'no/such/dir/ema.safetensors')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /error: .*no\/such\/dir\/ema\.safetensors: /);
  const readOnly = makeTempDir(t);
  const result = runWithReadOnlyDir(readOnly, `exec "${process.execPath}" "${BIN}" reconstruct "${F32_DIR}" --sigma-rel 0.08 --out "${join(readOnly, 'ema.safetensors')}"`);
  if ('unavailable' in result) return requireInCi(t, result.unavailable);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, /^error: .*ema\.safetensors: .*(read-only|permission denied)/im);
});

for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  test(`${signal} during a sweep's evaluations stops the commands, keeps the finished target's result and checkpoint, exits ${code}`, async (t) => {
    // sigma_rel 0.05 is scored at once; 0.1's command hangs until the signal. Then a rerun evaluates 0.1 only.
    const dir = makeTempDir(t);
    const out = join(dir, 'out');
    const log = join(dir, 'evaluated.log');
    const started = join(dir, 'started');
    const hang = join(dir, 'hang'); // while it exists, 0.1's command hangs
    writeFileSync(hang, '');
    const command = `echo {sigma_rel} >> ${log}; if [ {sigma_rel} = 0.05 ]; then echo 0.5; else if [ -e ${hang} ]; then touch ${started}; sleep 30; fi; echo 0.25; fi`;
    const args = ['sweep', F32_DIR, '--sigma-rel', '0.05,0.1', '--eval-cmd', command, '--out-dir', out, '--keep', 'best'];
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.once('close', (status) => resolve(status)));
    const results = join(out, 'sweep.jsonl');
    const finished = (): boolean => existsSync(results) && readFileSync(results, 'utf8').includes('"sigma_rel":0.05');
    const deadline = Date.now() + 60_000;
    while (!(existsSync(started) && finished()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(finished(), `sigma_rel 0.05 was scored before the signal: ${stderr}`);
    const sent = Date.now();
    child.kill(signal);
    assert.equal(await closed, code, stderr);
    assert.match(stderr, new RegExp(`error: interrupted by ${signal}`));
    assert.ok(Date.now() - sent < 10_000, 'the 30 s evaluation was stopped, not waited for');
    const names = readdirSync(out);
    assert.ok(names.every((name) => !name.includes('.ema-synth-tmp-')), `no temporary files: ${names}`);
    const records = readFileSync(results, 'utf8').trim().split('\n').map((line) => JSON.parse(line));
    const done = records.filter((r: { sigma_rel: number }) => r.sigma_rel === 0.05);
    assert.equal(done.length, 1);
    assert.equal(done[0].metric, 0.5);
    assert.equal(done[0].status, 'ok');
    assert.ok(existsSync(done[0].checkpoint), `the finished target's checkpoint ${done[0].checkpoint} is kept`);
    assert.ok(records.every((r: { sigma_rel: number }) => r.sigma_rel !== 0.1), 'the interrupted evaluation is not recorded as a result');

    rmSync(hang);
    const rerun = await runCli([...args, '--json']);
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['0.05', '0.1', '0.1'], 'only the unfinished target is evaluated again');
  });
}
