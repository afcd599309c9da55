import { scratchDir } from './helpers/scratch-dir.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runEvaluation, runEvaluations, type EvalEvent, type EvalTask } from '../src/sweep/eval-runner.js';
import { InterruptedError } from '../src/errors.js';
import { formatEvalProgress } from '../src/sweep/eval-progress.js';

const NODE = JSON.stringify(process.execPath);
const fixture = (name: string): string => join(import.meta.dirname, '..', 'fixtures', 'eval', name);
const task = (sigmaRel: number, file = `/ckpt/ema-${sigmaRel}.safetensors`): EvalTask =>
  ({ file, sigmaRel, gamma: 7, time: 1000 });
const grid = [0.05, 0.08, 0.11, 0.14, 0.17];

/** Alive and not a zombie waiting for init to reap it (Linux /proc). */
function isRunning(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('reads the metric each command prints, in task order', async () => {
  const results = await runEvaluations(grid.map((s) => task(s)), {
    template: `${NODE} ${fixture('quadratic.mjs')} {sigma_rel}`,
    jobs: 2,
  });
  // Truth: the fixture prints (s - 0.11)^2, computed here the same way in float64.
  assert.deepEqual(results.map((r) => (r.status === 'ok' ? r.metric : r.reason)), grid.map((s) => (s - 0.11) ** 2));
});

test('a command failing for one target fails only that target, with its stderr tail', async () => {
  const results = await runEvaluations(grid.map((s) => task(s)), {
    template: `${NODE} ${fixture('fail-at.mjs')} {sigma_rel} 0.14`,
    jobs: 3,
  });
  assert.deepEqual(results.map((r) => r.status), ['ok', 'ok', 'ok', 'failed', 'ok']);
  const failed = results[3];
  assert.equal(failed.status, 'failed');
  if (failed.status !== 'failed') return;
  assert.equal(failed.reason, 'exited with code 3');
  const lines = failed.stderrTail.split('\n');
  assert.equal(lines.length, 20, 'keeps the last 20 of 31 stderr lines');
  assert.equal(lines[0], 'log line 12');
  assert.equal(lines[19], 'RuntimeError: CUDA out of memory at sigma_rel=0.14');
  assert.match(failed.command, /fail-at\.mjs 0\.14 0\.14$/);
});

test('a command that prints no number is a failure that says so', async () => {
  const result = await runEvaluation(task(0.1), { template: `${NODE} ${fixture('no-number.mjs')}` });
  assert.equal(result.status, 'failed');
  assert.equal(result.status === 'failed' && result.reason, 'printed no number on stdout');
  assert.equal(result.stderrTail, 'warning: metric not computed');
});

test('non-finite last values and missing programs are failures with a reason', async () => {
  const nan = await runEvaluation(task(0.1), { template: 'echo epoch 5 val_loss nan' });
  assert.equal(nan.status === 'failed' && nan.reason, 'printed a non-finite value last on stdout: nan');
  const missing = await runEvaluation(task(0.1), { template: 'no-such-program-ema-synth {file}' });
  assert.equal(missing.status === 'failed' && missing.reason, 'exited with code 127');
  assert.match(missing.stderrTail, /not found/);
});

test('substitutes a checkpoint path with spaces and quotes as one argument', async () => {
  const dir = scratchDir("ema synth 'eval' ");
  const file = join(dir, 'ema 0.11 "best".safetensors');
  writeFileSync(file, Buffer.alloc(1234));
  const result = await runEvaluation(task(0.11, file), { template: `${NODE} ${fixture('file-size.mjs')} {file}` });
  assert.equal(result.status === 'ok' && result.metric, 1234);
});

test('runs at most `jobs` commands at once, and uses that many', async () => {
  const dir = join(scratchDir('ema-jobs-'), 'running');
  const events: EvalEvent[] = [];
  const results = await runEvaluations(grid.concat(grid).map((s) => task(s)), {
    template: `${NODE} ${fixture('slow.mjs')} ${dir} 800`,
    jobs: 3,
    onEvent: (event) => events.push(event),
  });
  // Truth: each child counts the marker files of the children alive when it starts.
  const seen = results.map((r) => (r.status === 'ok' ? r.metric : NaN));
  assert.ok(Math.max(...seen) <= 3, `at most 3 at once, saw ${seen}`);
  assert.ok(Math.max(...seen) >= 2, `ran concurrently, saw ${seen}`);
  assert.ok(Math.max(...events.filter((e) => e.type === 'started').map((e) => e.running)) <= 3);
  const finished = events.filter((e) => e.type === 'finished');
  assert.deepEqual(finished.map((e) => e.done), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.ok(finished.every((e) => e.total === 10));
});

test('finished events carry the best result so far, honouring maximize', async () => {
  for (const maximize of [false, true]) {
    const bests: number[] = [];
    await runEvaluations(grid.map((s) => task(s)), {
      template: `${NODE} ${fixture('quadratic.mjs')} {sigma_rel}`,
      jobs: 1,
      maximize,
      onEvent: (e) => { if (e.type === 'finished' && e.best) bests.push(e.best.task.sigmaRel); },
    });
    // Truth: a running arg-best over (s - 0.11)^2 in the sequential order (jobs = 1). In float64
    // (0.17 - 0.11)^2 is a hair above (0.05 - 0.11)^2, so 0.17 wins the maximum.
    assert.deepEqual(bests, maximize ? [0.05, 0.05, 0.05, 0.05, 0.17] : [0.05, 0.08, 0.11, 0.11, 0.11]);
  }
});

test('aborting kills the running commands, starts no more and rejects with the reason', async () => {
  const dir = join(scratchDir('ema-abort-'), 'running');
  mkdirSync(dir);
  const controller = new AbortController();
  const started: number[] = [];
  const finished: number[] = [];
  const begun = Date.now();
  const run = runEvaluations(grid.map((s) => task(s)), {
    template: `sh -c 'sleep 30; echo 1' & ${NODE} ${fixture('slow.mjs')} ${dir} 30000; wait`,
    jobs: 2,
    signal: controller.signal,
    onEvent: (e) => (e.type === 'started' ? started : finished).push(e.index),
  });
  while (readdirSync(dir).length < 2) await new Promise((r) => setTimeout(r, 20));
  const pids = readdirSync(dir).map(Number);
  controller.abort(new InterruptedError('SIGINT'));
  await assert.rejects(run, InterruptedError);
  assert.ok(Date.now() - begun < 10_000, 'did not wait for the 30 s commands');
  assert.deepEqual(started, [0, 1]);
  assert.deepEqual(finished, []);
  for (const pid of pids) assert.equal(isRunning(pid), false, `process ${pid} was killed`);
});

test('a command over its time limit is killed and marked failed', async () => {
  const result = await runEvaluation(task(0.1), { template: 'sleep 20; echo 1', timeoutMs: 200 });
  assert.equal(result.status === 'failed' && result.reason, 'timed out after 0.2 s');
  assert.ok(result.durationMs < 5000);
});

test('rejects a jobs count that is not a positive integer', async () => {
  await assert.rejects(runEvaluations([task(0.1)], { template: 'echo 1', jobs: 0 }), /jobs must be a positive integer, got 0/);
});

test('reads the metric after megabytes of output, and many parallel jobs raise no listener warning', async () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => { warnings.push(warning); };
  process.on('warning', onWarning);
  const controller = new AbortController();
  try {
    const results = await runEvaluations(Array.from({ length: 12 }, (_, i) => task(0.01 * (i + 1))), {
      template: `${NODE} -e "process.stdout.write('loss 9 '.repeat(300000) + '\\nfinal {sigma_rel}\\n')"`,
      jobs: 12,
      signal: controller.signal,
    });
    // Truth: the last number each command prints is the sigma_rel substituted into it.
    assert.deepEqual(results.map((r) => (r.status === 'ok' ? r.metric : r.reason)), Array.from({ length: 12 }, (_, i) => 0.01 * (i + 1)));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.map((w) => w.name), []);
  } finally {
    process.off('warning', onWarning);
  }
});

test('an already aborted signal starts nothing', async () => {
  const controller = new AbortController();
  controller.abort(new InterruptedError('SIGTERM'));
  let started = 0;
  await assert.rejects(
    runEvaluations([task(0.1)], { template: 'echo 1', jobs: 1, signal: controller.signal, onEvent: () => started++ }),
    (error: unknown) => error instanceof InterruptedError && error.exitCode === 143,
  );
  assert.equal(started, 0);
});

test('progress lines say done/total, the best so far and why a target failed', async () => {
  const lines: string[] = [];
  await runEvaluations([0.05, 0.14, 0.11].map((s) => task(s)), {
    template: `${NODE} ${fixture('fail-at.mjs')} {sigma_rel} 0.14`,
    jobs: 1,
    onEvent: (e) => lines.push(formatEvalProgress(e)),
  });
  assert.deepEqual(lines, [
    'evaluating sigma_rel 0.05 (1 running)',
    'evaluated 1/3, best sigma_rel 0.05 (metric 0.0036)',
    'evaluating sigma_rel 0.14 (1 running)',
    'evaluated 2/3, best sigma_rel 0.05 (metric 0.0036), sigma_rel 0.14 failed: exited with code 3',
    'evaluating sigma_rel 0.11 (1 running)',
    'evaluated 3/3, best sigma_rel 0.11 (metric 0)',
  ]);
});
