/**
 * Issue 18's disk-bound figure: `sweep --max-checkpoints K/8` over K targets (8 groups, so 8 passes
 * over the snapshots) with a trivial evaluation, against its parts measured in the same run:
 * 8 warm reads of the snapshots (`cat`) + K checkpoint writes (`dd`) + the K evaluations alone
 * (the same command through the same runner). Target: within 1.3x.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { runEvaluations } from '../../src/sweep/eval-runner.js';
import type { OtherRow } from './report.js';

export interface BoundedSweepInputs {
  readonly dir: string;
  readonly work: string;
  readonly caseName: string;
  readonly k: number;
  readonly sigmaList: string;
  /** Medians measured by the caller for this case: one warm read of every snapshot, and K file writes. */
  readonly readMs: number;
  readonly writeMs: number;
  readonly runChild: (args: string[]) => Promise<{ ms: number; stdout: string } | undefined>;
}

/** A cheap evaluation that still names its checkpoint, so every run really spawns a shell. */
const EVAL = 'test -s {file} && echo metric {sigma_rel}';

export async function boundedSweepRow(input: BoundedSweepInputs): Promise<OtherRow> {
  const groups = 8;
  const bound = Math.max(1, Math.floor(input.k / groups));
  const out = join(input.work, 'bounded-sweep');
  const name = `${input.caseName} sweep K=${input.k} --max-checkpoints ${bound}`;
  try {
    const run = await input.runChild(['sweep', input.dir, '--sigma-rel', input.sigmaList, '--eval-cmd', EVAL, '--out-dir', out, '--max-checkpoints', String(bound), '--json']);
    if (run === undefined) return { name, ms: null, note: 'timed out' };
    const passes = (JSON.parse(run.stdout) as { passes: unknown[] }).passes.length;
    const evalMs = await evaluationsMs(input.work, input.k);
    const parts = groups * input.readMs + input.writeMs + evalMs;
    // The engine's own cost of the same work: one `reconstruct` of `bound` targets (one pass), 8 times over.
    const onePass = await reconstructMs(input, bound);
    const engine = onePass === undefined ? undefined : groups * onePass + evalMs;
    return {
      name,
      ms: run.ms,
      note: `${passes} passes; ${(run.ms / parts).toFixed(2)}x of ${groups} reads (${Math.round(groups * input.readMs)} ms) + ${input.k} writes ` +
        `(${Math.round(input.writeMs)} ms) + ${input.k} evaluations alone (${Math.round(evalMs)} ms), target <= 1.3x; ` +
        (engine === undefined ? 'reconstruct baseline timed out' : `${(run.ms / engine).toFixed(2)}x of ${groups} x reconstruct K=${bound} (${Math.round(onePass!)} ms each) + the evaluations`),
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function reconstructMs(input: BoundedSweepInputs, bound: number): Promise<number | undefined> {
  const out = join(input.work, 'one-pass');
  mkdirSync(out, { recursive: true });
  try {
    const run = await input.runChild(['reconstruct', input.dir, '--sigma-rel', input.sigmaList.split(',').slice(0, bound).join(','), '--out-dir', out, '--json']);
    return run?.ms;
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** The K evaluations on their own, through the same runner, on small stand-in files. */
async function evaluationsMs(work: string, k: number): Promise<number> {
  const folder = join(work, 'eval-only');
  mkdirSync(folder, { recursive: true });
  try {
    const { writeFileSync } = await import('node:fs');
    const tasks = Array.from({ length: k }, (_, j) => {
      const file = join(folder, `c${j}.safetensors`);
      writeFileSync(file, 'x');
      return { file, sigmaRel: 0.05 + j * 0.001, gamma: 1, time: 1 };
    });
    const start = performance.now();
    await runEvaluations(tasks, { template: EVAL, jobs: 1 });
    return performance.now() - start;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
