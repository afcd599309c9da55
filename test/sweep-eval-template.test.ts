import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { checkEvalTemplate, expandEvalTemplate, shellQuote } from '../src/sweep/eval-template.js';
import { UsageError } from '../src/errors.js';

const values = { file: "/tmp/my run/it's $HOME `x` \"q\".safetensors", sigma_rel: 0.11, gamma: 6.94, time: 1000 };

/** Truth: what /bin/sh itself makes of the expanded command, one argument per line. */
function shellWords(command: string): string[] {
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${command}`]);
  return out.toString('utf8').replace(/\n$/, '').split('\n');
}

test('a path with spaces, quotes, $ and backticks reaches the command as one literal argument', () => {
  for (const template of ['{file}', "'{file}'", '"{file}"']) {
    assert.deepEqual(shellWords(expandEvalTemplate(template, values)), [values.file], template);
  }
});

test('a placeholder inside a longer quoted word is escaped for that quote context', () => {
  assert.deepEqual(shellWords(expandEvalTemplate('"--ckpt={file}"', values)), [`--ckpt=${values.file}`]);
  assert.deepEqual(shellWords(expandEvalTemplate("'--ckpt={file}'", values)), [`--ckpt=${values.file}`]);
  assert.deepEqual(shellWords(expandEvalTemplate('--ckpt={file}', values)), [`--ckpt=${values.file}`]);
});

test('numbers are written in shortest round-trip form and left unquoted', () => {
  assert.equal(
    expandEvalTemplate('eval --s {sigma_rel} --g {gamma} --t {time}', { ...values, sigma_rel: 0.1 + 0.01 }),
    `eval --s ${0.1 + 0.01} --g 6.94 --t 1000`,
  );
  assert.equal(shellQuote('0.11'), '0.11');
  assert.equal(shellQuote(''), "''");
});

test('leaves ${VAR}, awk programs and unknown-looking braces after $ untouched', () => {
  assert.equal(
    expandEvalTemplate("awk '{print $2}' ${HOME}/{file}", { ...values, file: 'a.st' }),
    "awk '{print $2}' ${HOME}/a.st",
  );
});

test('rejects unknown placeholders and empty templates, naming the flag', () => {
  assert.throws(() => checkEvalTemplate('python fid.py {sigma}'), (error: unknown) => {
    assert.ok(error instanceof UsageError);
    assert.match(error.message, /--eval-cmd uses an unknown placeholder \{sigma\}/);
    assert.match(error.hint ?? '', /\{sigma_rel\}/);
    return true;
  });
  assert.throws(() => checkEvalTemplate('  '), /--eval-cmd is empty/);
  checkEvalTemplate("python fid.py --ckpt {file} --s {sigma_rel} | awk '{print $2}'");
});
