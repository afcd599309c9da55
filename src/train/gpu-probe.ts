/**
 * Whether TensorFlow's CUDA build (@tensorflow/tfjs-node-gpu) finds a usable GPU, asked in a child
 * Node: without one, loading the CUDA build prints the CUDA runtime's own log lines (failed cuInit,
 * factory registrations) on stderr, which then stay in the child and the user reads one error line.
 * Costs a second TensorFlow start-up (a few seconds) on GPU machines, once per command.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

/** true or false; undefined when the package is not installed (the caller reports that). */
export function probeGpu(pkg: string): boolean | undefined {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(pkg);
  } catch {
    return undefined;
  }
  const script = `const tf = require(${JSON.stringify(entry)}); process.stdout.write('gpu=' + (tf.backend().isUsingGpuDevice === true));`;
  const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
  return /gpu=true/.test(result.stdout ?? '');
}
