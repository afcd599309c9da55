import { spawn } from 'node:child_process';
import { expandEvalTemplate } from './eval-template.js';
import { lastNumberToken, parseMetric } from './metric.js';
import { metricsRecord, namedMetrics } from './named-metrics.js';
import { lastLines, OutputTail } from './output-tail.js';

/**
 * Runs the user's evaluation command once per reconstructed checkpoint, at most `jobs` at a time,
 * and reads each metric off stdout. Never prints: progress goes out as events for the CLI to render.
 */

export interface EvalTask {
  readonly file: string;
  readonly sigmaRel: number;
  readonly gamma: number;
  readonly time: number;
  /** With --repeat: which repeat this is (0..R-1), substituted for {seed}. */
  readonly seed?: number;
}

export type EvalResult =
  | {
      readonly status: 'ok'; readonly metric: number; readonly command: string; readonly stderrTail: string; readonly durationMs: number;
      /** Every `NAME=number` / `NAME: number` printed, with --metric. */
      readonly metrics?: Record<string, number>;
      /** Runs it took, retries included (1 when the first succeeded). */
      readonly attempts?: number;
    }
  | { readonly status: 'failed'; readonly reason: string; readonly command: string; readonly stderrTail: string; readonly durationMs: number; readonly attempts?: number };

export type EvalEvent =
  | { readonly type: 'started'; readonly index: number; readonly task: EvalTask; readonly running: number }
  | { readonly type: 'retrying'; readonly index: number; readonly task: EvalTask; readonly attempt: number; readonly reason: string }
  | {
      readonly type: 'finished';
      readonly index: number;
      readonly task: EvalTask;
      readonly result: EvalResult;
      readonly done: number;
      readonly total: number;
      /** Best successful evaluation so far (lowest metric, or highest with `maximize`). */
      readonly best?: { readonly index: number; readonly task: EvalTask; readonly metric: number };
    };

export interface EvalRunOptions {
  /** Checked beforehand with checkEvalTemplate. */
  readonly template: string;
  /** Evaluations running at once, >= 1. */
  readonly jobs: number;
  readonly maximize?: boolean;
  /** Rank by the number printed after `NAME=` or `NAME:` instead of the last number. */
  readonly metricName?: string;
  /** A failed run (a preempted or crashed cluster job) is run again up to this many times (default 0). */
  readonly retries?: number;
  /** Aborting kills running commands (their whole process group) and starts no more. */
  readonly signal?: AbortSignal;
  readonly onEvent?: (event: EvalEvent) => void;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Per-command limit; a command still running then is killed and marked failed. */
  readonly timeoutMs?: number;
  /** Lines of stderr kept for a failure report (default 20). */
  readonly stderrLines?: number;
  /** Wait between SIGTERM and SIGKILL when stopping a command (default 2000 ms). */
  readonly killGraceMs?: number;
}

/**
 * Evaluates every task; resolves with one result per task, in task order. A failing command only
 * fails its own task. When `signal` aborts, running commands are killed and the promise rejects
 * with `signal.reason` (pass an InterruptedError there); tasks finished before that were already
 * reported through `onEvent`, so the caller can have recorded them.
 */
export async function runEvaluations(tasks: readonly EvalTask[], options: EvalRunOptions): Promise<EvalResult[]> {
  if (!(Number.isInteger(options.jobs) && options.jobs >= 1)) {
    throw new RangeError(`jobs must be a positive integer, got ${options.jobs}`);
  }
  const results: EvalResult[] = new Array(tasks.length);
  let next = 0;
  let done = 0;
  let running = 0;
  let best: { index: number; task: EvalTask; metric: number } | undefined;
  const better = (a: number, b: number): boolean => (options.maximize ? a > b : a < b);
  // One abort listener for the whole run (not one per child: with --jobs above 10 Node would warn
  // about a listener leak on stderr), stopping every running command.
  const stoppers = new Set<() => void>();
  const onAbort = (): void => stoppers.forEach((stop) => stop());
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const worker = async (): Promise<void> => {
    while (next < tasks.length && !options.signal?.aborted) {
      const index = next++;
      const task = tasks[index];
      running++;
      options.onEvent?.({ type: 'started', index, task, running });
      let result = await runOne(task, options, stoppers);
      for (let attempt = 2; result.status === 'failed' && attempt <= (options.retries ?? 0) + 1 && !options.signal?.aborted; attempt++) {
        options.onEvent?.({ type: 'retrying', index, task, attempt, reason: result.reason });
        result = { ...await runOne(task, options, stoppers), attempts: attempt };
      }
      running--;
      if (options.signal?.aborted) return; // killed by the abort: not a real outcome
      results[index] = result;
      done++;
      if (result.status === 'ok' && (best === undefined || better(result.metric, best.metric))) {
        best = { index, task, metric: result.metric };
      }
      options.onEvent?.({ type: 'finished', index, task, result, done, total: tasks.length, best });
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.jobs, tasks.length) }, worker));
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  options.signal?.throwIfAborted();
  return results;
}

/** Evaluates one task (for refinement steps, which come one at a time). */
export async function runEvaluation(task: EvalTask, options: Omit<EvalRunOptions, 'jobs'>): Promise<EvalResult> {
  const [result] = await runEvaluations([task], { ...options, jobs: 1 });
  return result;
}

function runOne(task: EvalTask, options: EvalRunOptions, stoppers: Set<() => void>): Promise<EvalResult> {
  const command = expandEvalTemplate(options.template, {
    file: task.file,
    sigma_rel: task.sigmaRel,
    gamma: task.gamma,
    time: task.time,
    seed: task.seed ?? 0,
  });
  const started = performance.now();
  const stdout = new OutputTail();
  const stderr = new OutputTail();
  const tailOf = (): string => lastLines(stderr.text(), options.stderrLines ?? 20);

  return new Promise((resolve) => {
    const failed = (reason: string): EvalResult => ({
      status: 'failed', reason, command, stderrTail: tailOf(), durationMs: performance.now() - started,
    });
    // detached: the shell leads its own process group, so a kill reaches what it started too.
    const child = spawn(command, {
      shell: true, detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: options.cwd, env: options.env,
    });
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));

    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      killGroup(child.pid, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(child.pid, 'SIGKILL'), options.killGraceMs ?? 2000);
    };
    stoppers.add(stop);
    if (options.signal?.aborted) stop(); // aborted between the check and the spawn
    const timeout = options.timeoutMs === undefined ? undefined : setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);

    let spawnError: Error | undefined;
    child.on('error', (error) => { spawnError = error; });
    child.on('close', (code, signal) => {
      clearTimeout(timeout);
      clearTimeout(killTimer);
      stoppers.delete(stop);
      if (spawnError !== undefined) return resolve(failed(`could not start the command: ${spawnError.message}`));
      if (timedOut) return resolve(failed(`timed out after ${(options.timeoutMs! / 1000).toFixed(1)} s`));
      if (signal !== null) return resolve(failed(`killed by ${signal}`));
      if (code !== 0) return resolve(failed(`exited with code ${code}`));
      const text = stdout.text();
      if (options.metricName !== undefined) {
        const named = namedMetrics(text);
        const value = named.get(options.metricName.toLowerCase());
        if (value === undefined) return resolve(failed(`printed no ${options.metricName}= or ${options.metricName}: on stdout`));
        if (!Number.isFinite(value)) return resolve(failed(`printed a non-finite ${options.metricName}`));
        const metrics = metricsRecord(named);
        return resolve({ status: 'ok', metric: value, ...(metrics ? { metrics } : {}), command, stderrTail: tailOf(), durationMs: performance.now() - started });
      }
      const metric = parseMetric(text);
      if (metric === undefined) {
        const token = lastNumberToken(text);
        return resolve(failed(token === undefined
          ? 'printed no number on stdout'
          : `printed a non-finite value last on stdout: ${token}`));
      }
      resolve({ status: 'ok', metric, command, stderrTail: tailOf(), durationMs: performance.now() - started });
    });
  });
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}
