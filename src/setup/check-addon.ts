/**
 * Loads the built addon in a child Node with LD_BIND_NOW=1: Node opens addons lazily (RTLD_LAZY),
 * so without it a C API function missing from the wheel's library would only fail at its first
 * call, in the middle of a training run. The child also runs one convolution so that oneDNN (the
 * CPU kernels of the wheel) reports the instruction set it dispatches to.
 */
import { spawnSync } from 'node:child_process';
import { SetupError } from '../errors.js';
import type { TfjsNodePackage } from './tfjs-node-addon.js';

export interface AddonReport {
  readonly tensorflowVersion: string;
  readonly usingGpu: boolean;
  /** oneDNN's "isa:" line, e.g. "Intel AVX-512 with float16, Intel DL Boost and bfloat16 support". */
  readonly cpuIsa: string | undefined;
  /** TensorFlow's cpu_feature_guard note: instructions the binary was not compiled for outside oneDNN. */
  readonly notCompiledFor: string | undefined;
}

const CHILD = `
const tf = require(process.argv[1]);
const x = tf.ones([1, 8, 8, 4]);
const y = tf.conv2d(x, tf.ones([3, 3, 4, 4]), 1, 'same').dataSync();
if (y[9 * 4] !== 36) throw new Error('conv2d gave ' + y[9 * 4] + ', expected 36');
const backend = tf.backend();
console.log(JSON.stringify({ version: backend.binding.TF_Version, gpu: backend.isUsingGpuDevice === true }));
`;

export function checkAddon(root: string, pkg: TfjsNodePackage): AddonReport {
  const result = spawnSync(process.execPath, ['-e', CHILD, pkg], {
    cwd: root, encoding: 'utf8', maxBuffer: 64 * 2 ** 20,
    env: { ...process.env, LD_BIND_NOW: '1', ONEDNN_VERBOSE: '1', TF_CPP_MIN_LOG_LEVEL: '0' },
  });
  const stderr = result.stderr ?? '';
  if (result.status !== 0) {
    const symbol = /undefined symbol: (\S+)/.exec(stderr);
    const line = stderr.split('\n').find((l) => /Error|error:/.test(l)) ?? stderr.trim().split('\n').pop() ?? `exit ${result.status}`;
    throw new SetupError(symbol
      ? `the addon does not load with every symbol bound: ${symbol[1]} is missing from the wheel's libraries`
      : `the built addon does not load: ${line.trim()}`, 'run the setup again; if it persists, the pinned wheel does not fit this tfjs-node version');
  }
  // oneDNN writes its verbose lines to stdout; our JSON line is the last one starting with '{'.
  const stdout = result.stdout ?? '';
  const last = stdout.split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}';
  const parsed = JSON.parse(last) as { version: string; gpu: boolean };
  const isa = /onednn_verbose,info,cpu,isa:(.*)/.exec(stdout + stderr)?.[1]?.trim();
  const guard = /To enable the following instructions: (.*?) in other operations/.exec(stderr)?.[1]?.replace(/,$/, '');
  return { tensorflowVersion: parsed.version, usingGpu: parsed.gpu, cpuIsa: isa, notCompiledFor: guard };
}
