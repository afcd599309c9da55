import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { cellsOf, missingSeeds, summarizeCell } from '../src/sweep/cells.js';
import { namedMetrics } from '../src/sweep/named-metrics.js';
import { differenceError, isDistinguishable, isHopeless, meanAndStandardError } from '../src/sweep/repeat-stats.js';
import type { SweepRecord } from '../src/sweep/results-store.js';
import { acquireSweepLock, SWEEP_LOCK_FILE } from '../src/sweep/sweep-lock.js';
import { parseTimeSpec, resolveTimes } from '../src/sweep/time-grid.js';
import { scratchDir } from './helpers/scratch-dir.js';

test('--time lists: values, ranges, percentages of the last snapshot time, all', () => {
  const times = [4, 8, 16, 32, 64];
  assert.deepEqual(resolveTimes(parseTimeSpec(undefined), times), [64]);
  assert.deepEqual(resolveTimes(parseTimeSpec('16'), times), [16]);
  assert.deepEqual(resolveTimes(parseTimeSpec('8,16,...,40'), times), [8, 16, 24, 32, 40]);
  assert.deepEqual(resolveTimes(parseTimeSpec('all'), times), times);
  // 12.5% steps of 64: exact multiples of 8 (no 8.000000000000002).
  assert.deepEqual(resolveTimes(parseTimeSpec('12.5%,25%,...,100%'), times), [8, 16, 24, 32, 40, 48, 56, 64]);
  assert.deepEqual(resolveTimes(parseTimeSpec('12.5%,25%,...,100%'), [4, 65]), [8.125, 16.25, 24.375, 32.5, 40.625, 48.75, 56.875, 65]);
  for (const [bad, message] of [['25%,40', /mixes percentages/], ['0%', /\(0%, 100%\]/], ['150%', /\(0%, 100%\]/], ['-3', /positive/], ['x', /not a number/]] as const) {
    assert.throws(() => parseTimeSpec(bad), message, bad);
  }
});

test('mean and standard error against closed forms', () => {
  // 1, 2, 3, 4: mean 2.5, sample variance 5/3, standard error sqrt(5/3 / 4).
  const e = meanAndStandardError([1, 2, 3, 4]);
  assert.equal(e.mean, 2.5);
  assert.ok(Math.abs(e.se! - Math.sqrt(5 / 12)) < 1e-15);
  assert.equal(meanAndStandardError([7]).se, null);
  assert.equal(differenceError({ mean: 0, se: 3, n: 2 }, { mean: 0, se: 4, n: 2 }), 5);
  // Two standard errors of the difference (here 2 * 5 = 10) decide.
  assert.equal(isDistinguishable({ mean: 0, se: 3, n: 2 }, { mean: 10.5, se: 4, n: 2 }), true);
  assert.equal(isDistinguishable({ mean: 0, se: 3, n: 2 }, { mean: 9.5, se: 4, n: 2 }), false);
  assert.equal(isDistinguishable({ mean: 0, se: null, n: 1 }, { mean: 9.5, se: 4, n: 2 }), null);
  // Pruning: worse by more than margin * 5.
  assert.equal(isHopeless({ mean: 16, se: 3, n: 2 }, { mean: 0, se: 4, n: 2 }, 3, false), true);
  assert.equal(isHopeless({ mean: 14, se: 3, n: 2 }, { mean: 0, se: 4, n: 2 }, 3, false), false);
  assert.equal(isHopeless({ mean: -16, se: 3, n: 2 }, { mean: 0, se: 4, n: 2 }, 3, true), true);
  assert.equal(isHopeless({ mean: 16, se: 3, n: 2 }, { mean: 0, se: 4, n: 2 }, 3, true), false);
});

test('named metrics: NAME=, NAME:, JSON, last value wins, case-insensitive', () => {
  const found = namedMetrics('epoch3 fid=9.1\n{"FID": 2.5e0, "is": 11}\nprecision: 0.7 time: 12:30 url=http://x\n\x1b[32mkid=0.01\x1b[0m\nloss: nan');
  assert.equal(found.get('fid'), 2.5);
  assert.equal(found.get('is'), 11);
  assert.equal(found.get('precision'), 0.7);
  assert.equal(found.get('kid'), 0.01);
  assert.ok(Number.isNaN(found.get('loss')));
  assert.equal(found.has('time'), false, 'a clock time is not a metric');
  assert.equal(found.has('url'), false);
});

const line = (sigmaRel: number, extra: Partial<SweepRecord> = {}): SweepRecord => ({
  sigma_rel: sigmaRel, gamma: 6.94, time: 1000, fit_error: 1e-4, metric: 1, checkpoint: `c-${sigmaRel}`, status: 'ok', reason: null, phase: 'grid', ...extra,
});

test('cells fold repeats into a mean; lines of older files (no seed) are seed 0 and unchanged', () => {
  const old = line(0.1, { metric: 4 });
  const oldCell = cellsOf([old]).get('0.1@1000')!;
  assert.deepEqual(summarizeCell(oldCell, false), old);
  assert.deepEqual(missingSeeds(oldCell, 1), []);
  assert.deepEqual(missingSeeds(oldCell, 3), [1, 2]);
  const records = [
    line(0.1, { seed: 0, metric: 1, metrics: { fid: 1, is: 5 } }),
    line(0.1, { seed: 1, metric: null, status: 'failed', reason: 'exited with code 1' }),
    line(0.1, { seed: 2, metric: 3, metrics: { fid: 3 } }),
    line(0.1, { seed: 1, metric: 5, metrics: { fid: 5, is: 7 } }), // the retried repeat replaces the failure
  ];
  const cell = cellsOf(records).get('0.1@1000')!;
  const summary = summarizeCell(cell, true);
  assert.equal(summary.metric, 3);
  assert.ok(Math.abs(summary.metric_se! - 2 / Math.sqrt(3)) < 1e-15); // sample sd of 1, 3, 5 is 2
  assert.equal(summary.repeats, 3);
  assert.deepEqual(summary.metrics, { fid: 3, is: 6 });
  assert.equal(summary.seed, undefined);
  assert.deepEqual(missingSeeds(cell, 4), [3]);
  const failed = summarizeCell(cellsOf([line(0.2, { seed: 0, metric: null, status: 'failed', reason: 'boom' })]).get('0.2@1000')!, true);
  assert.equal(failed.status, 'failed');
  assert.equal(failed.repeats, 0);
});

test('one sweep per folder: a live lock refuses, a dead process\'s lock on this host is taken over', async () => {
  const dir = scratchDir('ema-sweep-lock-');
  const first = await acquireSweepLock(dir);
  await assert.rejects(acquireSweepLock(dir), (error: Error) => {
    assert.match(error.message, new RegExp(`in use by process ${process.pid} on this host`));
    return true;
  });
  await first.release();
  // A process that has exited: its pid is free (the kernel may reuse it later, not within this test).
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  writeFileSync(join(dir, SWEEP_LOCK_FILE), JSON.stringify({ pid: deadPid, host: hostname(), started: 'earlier' }));
  const taken = await acquireSweepLock(dir);
  assert.match(taken.note ?? '', new RegExp(`took over the lock of process ${deadPid}, which is no longer running`));
  assert.equal(JSON.parse(readFileSync(join(dir, SWEEP_LOCK_FILE), 'utf8')).pid, process.pid);
  await taken.release();
  // Another host cannot be checked: refused, with the way out.
  writeFileSync(join(dir, SWEEP_LOCK_FILE), JSON.stringify({ pid: deadPid, host: `not-${hostname()}`, started: 'earlier' }));
  await assert.rejects(acquireSweepLock(dir), (error: Error & { hint?: string }) => {
    assert.match(error.message, /in use by process \d+ on host not-/);
    assert.match(error.hint ?? '', /delete .*sweep\.lock/);
    return true;
  });
});
