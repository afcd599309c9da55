/**
 * Runs test/bench/torch-step.py (the same network and step on PyTorch's CPU build) when a Python
 * with torch is found: $PYTHON_TORCH, python3, or Debian's python3 (python3-torch installs there).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StepBenchResult } from './train-step.js';

const SCRIPT = fileURLToPath(new URL('./torch-step.py', import.meta.url));

export function findTorchPython(): string | undefined {
  const candidates = [process.env.PYTHON_TORCH, 'python3', '/usr/bin/python3'].filter((c): c is string => Boolean(c));
  return candidates.find((python) => spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
}

/** Threads: BENCH_THREADS when set (bench --train --threads N), else one per core. */
export function benchTorchStep(python: string, config: string, batch: number, repeats: number): StepBenchResult & { threads: number } {
  const threads = process.env.BENCH_THREADS ? ['--threads', process.env.BENCH_THREADS] : [];
  const result = spawnSync(python, [SCRIPT, '--config', config, '--batch', String(batch), '--repeats', String(repeats), ...threads], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`torch-step.py failed: ${(result.stderr ?? '').trim().split('\n').pop()}`);
  const r = JSON.parse(result.stdout.trim().split('\n').pop()!) as StepBenchResult & { threads: number };
  return { ...r, flops: 0 };
}
