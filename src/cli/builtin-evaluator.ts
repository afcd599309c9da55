/**
 * `sweep --eval builtin`: scores each checkpoint with the validation denoising loss of `ema-synth
 * evaluate` (held-out split, fixed noise levels and noise, deterministic for the seed), in this
 * process, one checkpoint at a time: TensorFlow.js has one backend per process and already uses
 * what parallelism it has. Loaded lazily, so other commands never pay for TensorFlow.js.
 */
import type { EvalResult } from '../sweep/eval-runner.js';
import type { Evaluator } from '../sweep/run-sweep.js';

export async function loadBuiltinEvaluator(): Promise<Evaluator> {
  const { evaluateCheckpointFile } = await import('../train/evaluate-run.js');
  const { selectBackend } = await import('../train/backend.js');
  await selectBackend('auto');
  return async (tasks, hooks) => {
    const results: EvalResult[] = [];
    let best: { index: number; task: (typeof tasks)[number]; metric: number } | undefined;
    for (const [index, task] of tasks.entries()) {
      hooks.signal?.throwIfAborted();
      hooks.onEvent({ type: 'started', index, task, running: 1 });
      const started = Date.now();
      const command = `ema-synth evaluate ${task.file}`;
      let result: EvalResult;
      try {
        const { metric } = await evaluateCheckpointFile(task.file);
        result = { status: 'ok', metric, command, stderrTail: '', durationMs: Date.now() - started };
        if (best === undefined || metric < best.metric) best = { index, task, metric };
      } catch (error) {
        result = { status: 'failed', reason: (error as Error).message, command, stderrTail: '', durationMs: Date.now() - started };
      }
      results.push(result);
      hooks.onEvent({ type: 'finished', index, task, result, done: index + 1, total: tasks.length, best });
    }
    return results;
  };
}
