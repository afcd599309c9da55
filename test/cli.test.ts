import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, makeTempDir, REPO_DIR, runCli, spawnCli } from './helpers/cli.js';

const F32_DIR = join(FIXTURES, 'snapshots-f32');

test('the installed binary writes results to stdout and nothing else there; exit 0', (t) => {
  const dir = makeTempDir(t);
  const result = spawnCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', join(dir, 'ema.safetensors')]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^sigma_rel\s+gamma\s+time \(images\)\s+snapshots\s+fit error/);
  assert.equal(result.stderr, '', 'no progress or colour when stderr is not a terminal');
  assert.ok(existsSync(join(dir, 'ema.safetensors')));
});

test('--json prints exactly one JSON document on stdout', (t) => {
  const dir = makeTempDir(t);
  const result = spawnCli(['reconstruct', F32_DIR, '--sigma-rel', '0.02,0.08', '--out-dir', dir, '--json']);
  assert.equal(result.code, 0);
  const report = JSON.parse(result.stdout);
  assert.equal(report.targets.length, 2);
  assert.equal(report.targets[0].coefficients.length, 32);
  assert.match(result.stderr, /^warning: sigma_rel 0\.02: fit error/m, 'warnings go to stderr');
});

test('usage errors exit 2 with one error line naming the flag, and no stack trace', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['reconstruct', F32_DIR, '--sigma-rel', '0.3', '--out', 'x.safetensors'], /--sigma-rel 0\.3 is outside/],
    [['reconstruct', F32_DIR, '--sigma-rel', '0.01,0.02,...,0.055', '--out-dir', '.'], /--sigma-rel "0\.01,0\.02,\.\.\.,0\.055": .*not evenly spaced/],
    [['reconstruct', F32_DIR, '--sigma-rel', '0.05,0.1', '--out', 'x.safetensors'], /--out names one file but 2 targets/],
    [['reconstruct', F32_DIR, '--sigma-rel', '0.08'], /no output: give --out FILE/],
    [['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--gamma', '7', '--dry-run'], /--sigma-rel or --gamma, not both/],
    [['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--time', '100', '--dry-run'], /--time 100 is outside the snapshots' time range \[4096, 65536\]/],
    [['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--time', 'soon', '--dry-run'], /--time "soon" must be a positive number/],
    [['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--dtype', 'f8', '--dry-run'], /argument 'f8' is invalid/],
    [['reconstruct', F32_DIR, '--bogus'], /unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message, args.join(' '));
    assert.equal(result.stdout, '');
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  }
});

test('bad input files exit 1 naming the file; nothing is written', async (t) => {
  const dir = makeTempDir(t);
  writeFileSync(join(dir, 'broken.safetensors'), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0x7b]));
  const result = await runCli(['reconstruct', dir, '--sigma-rel', '0.08', '--out', join(dir, 'out.safetensors')]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: .*broken\.safetensors/m);
  assert.deepEqual(readdirSync(dir), ['broken.safetensors']);

  const missing = await runCli(['reconstruct', join(dir, 'nope'), '--sigma-rel', '0.08', '--dry-run']);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nope: cannot list snapshots \(no such folder\)/);
});

test('an existing output is never replaced without --force, and the refusal comes before any work', async (t) => {
  const dir = makeTempDir(t);
  const out = join(dir, 'ema.safetensors');
  writeFileSync(out, 'precious');
  const refused = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', out]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /ema\.safetensors: the output file already exists\nhint: use --force/);
  assert.equal(readdirSync(dir).length, 1);
  const forced = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', out, '--force']);
  assert.equal(forced.code, 0, forced.stderr);
});

test('an output path equal to a snapshot is refused even with --force', async () => {
  const input = join(F32_DIR, 'snapshot-0000065-0.050.safetensors');
  const result = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', input, '--force']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /would replace one of the snapshots/);
});

test('--out-dir is created when missing; the folder of --out must exist', async (t) => {
  const dir = makeTempDir(t);
  const created = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.06,0.09', '--out-dir', join(dir, 'new/ema')]);
  assert.equal(created.code, 0, created.stderr);
  assert.deepEqual(readdirSync(join(dir, 'new/ema')).sort(), ['ema-sigma0.06-time65536.safetensors', 'ema-sigma0.09-time65536.safetensors']);
  const missing = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', join(dir, 'absent/ema.safetensors')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /absent\/ema\.safetensors: cannot write into its folder: the folder does not exist/);
});

test('a reader that closes the pipe early (| head) ends the program quietly', async (t) => {
  const dir = makeTempDir(t);
  const child = spawn(process.execPath, [join(REPO_DIR, 'bin/ema-synth.js'), 'reconstruct', F32_DIR, '--sigma-rel', '0.0100,0.0125,...,0.2500', '--dry-run', '--json'], { cwd: dir });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.once('data', () => child.stdout.destroy()); // the JSON (about 500 KB) outgrows the pipe buffer
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, /EPIPE|internal error/);
});
