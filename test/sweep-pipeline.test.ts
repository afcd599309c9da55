import { scratchDir } from './helpers/scratch-dir.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runEvaluation, runEvaluations, type EvalResult, type EvalTask } from '../src/sweep/eval-runner.js';
import { nextRefinementPoint } from '../src/sweep/refine.js';
import {
  isTargetDone, latestByTarget, loadSweepResults, SweepResultsStore, type SweepRecord,
} from '../src/sweep/results-store.js';
import { collectSweepReport } from '../src/sweep/report.js';
import { roundSigmaRel, targetKey } from '../src/sweep/sigma-rel-key.js';
import { sigmaRelToGamma } from '../src/phema/profile.js';

/**
 * The evaluation half of a sweep, wired the way the sweep command uses these modules (no
 * reconstruction: the "checkpoints" are names). The check: an evaluation command printing
 * (sigma_rel - 0.11)^2 gives best = the grid point nearest 0.11, and refinement gets within 0.002.
 */

const NODE = JSON.stringify(process.execPath);
const QUADRATIC = join(import.meta.dirname, '..', 'fixtures', 'eval', 'quadratic.mjs');
const GRID = Array.from({ length: 8 }, (_, i) => roundSigmaRel(0.02 + 0.03 * i)); // 0.02 .. 0.23
const TIME = 1000;

const taskOf = (sigmaRel: number): EvalTask =>
  ({ file: `ckpt/ema-${sigmaRel}.safetensors`, sigmaRel, gamma: sigmaRelToGamma(sigmaRel), time: TIME });
const recordOf = (task: EvalTask, result: EvalResult, phase: 'grid' | 'refine'): SweepRecord => ({
  sigma_rel: task.sigmaRel, gamma: task.gamma, time: task.time, fit_error: null,
  metric: result.status === 'ok' ? result.metric : null, checkpoint: task.file, status: result.status,
  reason: result.status === 'failed' ? result.reason : null, phase,
});

async function sweep(outDir: string, center: number, refineSteps: number, stopAfter = Infinity) {
  const template = `${NODE} ${QUADRATIC} {sigma_rel} ${center}`;
  const { store, records } = await SweepResultsStore.open(outDir);
  const done = latestByTarget(records);
  const todo = GRID.filter((s) => !isTargetDone(done.get(targetKey(s, TIME)), true)).slice(0, stopAfter);
  let evaluations = 0;
  const appends: Promise<void>[] = [];
  await runEvaluations(todo.map(taskOf), {
    template, jobs: 2,
    onEvent: (e) => {
      if (e.type !== 'finished') return;
      evaluations++;
      appends.push(store.append(recordOf(e.task, e.result, 'grid')));
    },
  });
  await Promise.all(appends);
  for (let step = 0; step < refineSteps; step++) {
    const points = [...latestByTarget(await reload(outDir)).values()]
      .map((r) => ({ sigmaRel: r.sigma_rel, metric: r.metric ?? undefined }));
    const next = nextRefinementPoint(points);
    if (next === undefined) break;
    const task = taskOf(next.sigmaRel);
    const result = await runEvaluation(task, { template });
    evaluations++;
    await store.append(recordOf(task, result, 'refine'));
  }
  const final = await reload(outDir);
  await store.close();
  return { report: collectSweepReport(final), evaluations };
}

/** Everything in sweep.jsonl so far (the store's file is the state, as after a restart). */
async function reload(outDir: string): Promise<SweepRecord[]> {
  return (await loadSweepResults(join(outDir, 'sweep.jsonl'))).records;
}

test('best is the grid point nearest the minimum of (s - 0.11)^2, refinement lands within 0.002', async () => {
  // Truth: the closed-form minimiser. 0.11 is on the grid; 0.117 is not (nearest grid point 0.11).
  const exact = await sweep(scratchDir('ema-pipe-'), 0.11, 0);
  assert.equal(exact.report.best?.sigma_rel, 0.11);
  const offGrid = await sweep(scratchDir('ema-pipe-'), 0.117, 0);
  assert.equal(offGrid.report.best?.sigma_rel, 0.11);
  const refined = await sweep(scratchDir('ema-pipe-'), 0.117, 6);
  assert.ok(Math.abs(refined.report.best!.sigma_rel - 0.117) < 0.002, `best ${refined.report.best?.sigma_rel}`);
  assert.equal(refined.report.targets.filter((t) => t.phase === 'refine').length, refined.evaluations - GRID.length);
});

test('a sweep stopped midway resumes with only the missing targets, then continues refining', async () => {
  const outDir = scratchDir('ema-pipe-resume-');
  const first = await sweep(outDir, 0.117, 0, 3);
  assert.equal(first.evaluations, 3);
  assert.equal(first.report.targets.length, 3);
  const second = await sweep(outDir, 0.117, 4);
  assert.equal(second.evaluations, GRID.length - 3 + 4, 'grid targets already done are not evaluated again');
  assert.equal(second.report.targets.length, GRID.length + 4);
  const third = await sweep(outDir, 0.117, 2);
  assert.equal(third.evaluations, 2, 'the grid is complete; only new refinement steps run');
  assert.ok(Math.abs(third.report.best!.sigma_rel - 0.117) < 0.002);
});
