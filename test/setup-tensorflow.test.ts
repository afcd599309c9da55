/**
 * `npm run setup:tensorflow` as users run it (bin/setup-tensorflow.js on the built dist/), for the
 * paths that need no network: usage, a bad argument, a missing pip; and the header scan.
 */
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { quotedIncludes } from '../src/setup/wheel-extract.js';
import { REPO_DIR } from './helpers/cli.js';

function setup(args: string[], env: Record<string, string> = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(REPO_DIR, 'bin', 'setup-tensorflow.js'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--help prints the usage on stdout', () => {
  const r = setup(['--help']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^usage: npm run setup:tensorflow \[-- --gpu\] \[-- --cache DIR\]/);
});

test('an unknown argument is one error line, exit 2', () => {
  const r = setup(['--cpu']);
  assert.equal(r.code, 2);
  assert.equal(r.stderr, 'error: unknown argument --cpu\nhint: run with --help for usage\n');
});

test('without pip the setup stops at its first step with one error line naming what to install', { skip: process.platform !== 'linux' || process.arch !== 'x64' ? 'the wheel route is Linux x86-64 only' : false }, () => {
  const r = setup(['--cache', join(REPO_DIR, 'no-such-cache')], { PYTHON: 'ema-synth-no-such-python' });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: no pip: none of ema-synth-no-such-python runs `-m pip --version`\nhint: install pip/);
  assert.equal(r.stdout, '');
});

test('the header scan reads quoted includes only', () => {
  const source = '#include "tensorflow/c/c_api.h"\n#  include "tsl/platform/ctstring.h"\n#include <stdint.h>\n// #include "x.h" is a comment\n';
  assert.deepEqual(quotedIncludes(source), ['tensorflow/c/c_api.h', 'tsl/platform/ctstring.h']);
});
