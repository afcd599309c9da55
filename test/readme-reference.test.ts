/**
 * The README's command reference lists exactly the options each command defines (what `--help`
 * shows), so the two cannot drift apart: a new flag without a README row, or a row for a flag that
 * no longer exists, fails here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildProgram } from '../src/cli/main.js';
import { REPO_DIR } from './helpers/cli.js';

const README = readFileSync(join(REPO_DIR, 'README.md'), 'utf8');
const silent = { write: () => true };

/** The README section under "### `ema-synth NAME ...`", up to the next heading. */
function section(readme: string, name: string): string | undefined {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`### \`ema-synth ${name}`));
  if (start < 0) return undefined;
  const end = lines.findIndex((line, i) => i > start && /^#{1,3} /.test(line));
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** Long flags named in the option column (the first cell) of the section's tables. */
function documentedFlags(text: string): Set<string> {
  const flags = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('| `')) continue;
    const firstCell = line.slice(1).split(/(?<!\\)\|/)[0];
    for (const [flag] of firstCell.matchAll(/--[a-z][a-z-]*/g)) flags.add(flag);
  }
  return flags;
}

test('the README documents every option of every command, and no other', () => {
  const program = buildProgram({ stdout: silent, stderr: silent, env: {} });
  assert.ok(program.commands.length >= 7);
  for (const command of program.commands) {
    const text = section(README, command.name());
    assert.ok(text !== undefined, `README has no "### \`ema-synth ${command.name()}" section`);
    const defined = new Set(command.options.map((option) => option.long!).filter((flag) => flag !== '--help'));
    const documented = documentedFlags(text);
    const missing = [...defined].filter((flag) => !documented.has(flag));
    const stale = [...documented].filter((flag) => !defined.has(flag));
    assert.deepEqual(missing, [], `${command.name()}: options --help shows but the README does not`);
    assert.deepEqual(stale, [], `${command.name()}: options the README lists but the command does not have`);
  }
});

test('the check notices a missing and a stale row', () => {
  const text = '| option | meaning |\n| --- | --- |\n| `--out FILE` / `--out-dir DIR` | see `--force` |\n| `--dtype same\\|f32` | x |';
  assert.deepEqual([...documentedFlags(text)].sort(), ['--dtype', '--out', '--out-dir'], 'only the option column counts');
  const program = buildProgram({ stdout: silent, stderr: silent, env: {} });
  const reconstruct = program.commands.find((c) => c.name() === 'reconstruct')!;
  const withoutForce = section(README, 'reconstruct')!.replace(/^\| `--force` .*\n/m, '');
  assert.equal(documentedFlags(withoutForce).has('--force'), false);
  assert.ok(reconstruct.options.some((o) => o.long === '--force'), 'so the first test would fail without that row');
});
