/**
 * Issue 20: what a newcomer following the README trips over. One test per behaviour that changed:
 * error texts in our words, hints for the usual mistakes, exit codes as the README's table says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';

const F32_DIR = join(FIXTURES, 'snapshots-f32');
const TRAIN_SNAPSHOT = join(FIXTURES, 'train-run/snapshots/network-snapshot-0000008-0.100.safetensors');

/** Exactly one `error:` line (plus an optional `hint:`), no stack, none of Node's raw texts. */
function assertOneErrorLine(stderr: string, pattern: RegExp, what: string): void {
  const lines = stderr.trimEnd().split('\n').filter((line) => !line.startsWith('hint: '));
  assert.equal(lines.length, 1, `${what}: ${stderr}`);
  assert.match(lines[0], /^error: /, what);
  assert.match(lines[0], pattern, what);
  assert.doesNotMatch(stderr, /ENOENT|ENOTDIR|scandir|no such file or directory|\n\s+at /, what);
}

test('--sigma-rel 0 and negative values are called too small, not too wide', async () => {
  for (const value of ['0', '-0.1']) {
    const result = await runCli(['reconstruct', F32_DIR, '--sigma-rel', value, '--dry-run']);
    assert.equal(result.code, 2, result.stderr);
    assertOneErrorLine(result.stderr, /outside \(0, 0\.288675\): an EMA length must be positive/, value);
    assert.doesNotMatch(result.stderr, /wide/);
  }
  const wide = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.3', '--dry-run']);
  assert.match(wide.stderr, /cannot be that wide/);
});

test('missing input files and folders get one error line in our words naming the path', async (t) => {
  const dir = makeTempDir(t);
  const cases: Array<[string[], RegExp]> = [
    [['convert', join(dir, 'nosuch.pt'), join(dir, 'out.safetensors')], /nosuch\.pt: cannot read \(no such file\)/],
    [['train', '--data', join(dir, 'nosuchdir'), '--out', join(dir, 'run'), '--config', 'tiny', '--duration', '8'], /--data .*nosuchdir: cannot list the image folder \(no such folder\)/],
    [['evaluate', TRAIN_SNAPSHOT, '--data', join(dir, 'nosuchdir')], /--data .*nosuchdir: cannot list the image folder \(no such folder\)/],
    [['evaluate', TRAIN_SNAPSHOT, '--data', TRAIN_SNAPSHOT], /--data .*\.safetensors: cannot list the image folder \(not a folder\)/],
    [['sample', join(dir, 'nosuch.safetensors'), '--out', join(dir, 'grid.png')], /nosuch\.safetensors: cannot open for reading \(no such file\)/],
    [['inspect', join(dir, 'nosuchdir')], /nosuchdir: cannot list snapshots \(no such folder\)/],
  ];
  for (const [args, pattern] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
    assertOneErrorLine(result.stderr, pattern, args[0]);
  }
  assert.equal(existsSync(join(dir, 'run')), false, 'train checks --data before creating the run folder');
});

test('a list given as separate words ("too many arguments") gets a hint with the comma-separated form', async () => {
  const result = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.05', '0.06', '0.07', '--dry-run']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /too many arguments/);
  assert.match(result.stderr, /^hint: --sigma-rel takes one comma-separated list, without spaces: --sigma-rel 0\.05,0\.06,0\.07$/m);
  const unrelated = await runCli(['reconstruct', F32_DIR, 'extra', '--sigma-rel', '0.05', '--dry-run']);
  assert.equal(unrelated.code, 2);
  assert.doesNotMatch(unrelated.stderr, /hint: --sigma-rel/, 'no list hint when the stray word is not a number');
});

test('exit codes follow the README: a checkpoint without network metadata is bad input (1)', async (t) => {
  const dir = makeTempDir(t);
  const plain = join(F32_DIR, 'snapshot-0000065-0.050.safetensors');
  for (const args of [['evaluate', plain, '--backend', 'cpu'], ['sample', plain, '--out', join(dir, 'grid.png'), '--backend', 'cpu']]) {
    const result = await runCli(args);
    assert.equal(result.code, 1, `${args[0]}: ${result.stderr}`);
    assert.match(result.stderr, /does not say which network it holds.*\nhint: pass --config tiny/);
  }
});
