/**
 * `sweep --eval builtin`: scores checkpoints with the validation denoising loss of the training run
 * that wrote the snapshots. Loaded lazily: it brings TensorFlow.js, which other commands never pay for.
 */
import { UsageError } from '../errors.js';
import type { Evaluator } from '../sweep/run-sweep.js';

export async function loadBuiltinEvaluator(runDir: string, jobs: number): Promise<Evaluator> {
  void runDir;
  void jobs;
  throw new UsageError('--eval builtin is not available yet', 'use --eval-cmd with your own evaluation script');
}
