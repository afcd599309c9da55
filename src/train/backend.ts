/**
 * Chooses and initialises the TensorFlow.js backend. The native backends are optional packages
 * loaded with dynamic import() so that nothing else pays for them (their own install script
 * downloads libtensorflow; `npm run setup:tensorflow` builds them from PyPI's wheel instead, and a
 * plain `npm install` of this tool installs neither).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { probeGpu } from './gpu-probe.js';
import { registerWasmCopyKernels } from './wasm-copy-kernels.js';

export type BackendName = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const NATIVE_PACKAGES = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const;

export interface BackendOptions {
  /** Threads of native TensorFlow's intra-op pool (default: one per core). Native backends only. */
  readonly threads?: number;
}

/** The intra-op thread count TensorFlow was loaded with in this process (it reads it once). */
let nativeThreads: string | undefined;

async function importOptional(pkg: string): Promise<boolean> {
  try {
    // A variable specifier keeps TypeScript from requiring the (absent) package's types.
    const specifier: string = pkg;
    await import(specifier);
    return true;
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') return false;
    throw new UsageError(`could not load ${pkg}: ${(error as Error).message}`,
      `rebuild it with: npm run setup:tensorflow${pkg.endsWith('-gpu') ? ' -- --gpu' : ''} (or npm install ${pkg}@4.22.0 where its download host is reachable)`);
  }
}

/**
 * TensorFlow reads its thread count and log level from the environment when the addon creates its
 * context, i.e. on first import; INFO lines (oneDNN and CPU-feature banners) are silenced unless
 * the user set TF_CPP_MIN_LOG_LEVEL.
 */
function prepareNativeEnvironment(threads: number | undefined): void {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1';
  if (threads === undefined) return;
  const wanted = String(threads);
  if (nativeThreads !== undefined && nativeThreads !== wanted) {
    throw new UsageError(`--threads ${threads}: TensorFlow was already started with ${nativeThreads} threads in this process`);
  }
  process.env.TF_NUM_INTRAOP_THREADS = wanted;
}

const noGpu = (): UsageError => new UsageError(
  '--backend tensorflow-gpu: TensorFlow found no usable GPU (no CUDA device, or its driver or libraries could not be loaded)',
  'use --backend tensorflow for the CPU, or check nvidia-smi and the CUDA libraries');

async function useNative(name: 'tensorflow-gpu' | 'tensorflow', required: boolean, threads: number | undefined): Promise<boolean> {
  const pkg = NATIVE_PACKAGES[name];
  prepareNativeEnvironment(threads);
  if (name === 'tensorflow-gpu' && required && probeGpu(pkg) === false) throw noGpu();
  if (!(await importOptional(pkg))) {
    if (!required) return false;
    throw new UsageError(
      `--backend ${name} needs the optional package ${pkg}, which is not installed`,
      `install it with: npm run setup:tensorflow${name === 'tensorflow-gpu' ? ' -- --gpu' : ''} (builds it from PyPI's TensorFlow wheel), `
      + `or npm install ${pkg}@4.22.0 where its install script can download libtensorflow${name === 'tensorflow-gpu' ? '; either needs a CUDA-capable GPU and its driver' : ''}; or use --backend wasm`,
    );
  }
  nativeThreads ??= process.env.TF_NUM_INTRAOP_THREADS ?? 'default';
  // Both packages register the backend under the name 'tensorflow'.
  if (!(await tf.setBackend('tensorflow'))) return false;
  // Without a usable GPU the CUDA build quietly runs on the CPU; asked for a GPU, say so instead.
  const usingGpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
  if (name === 'tensorflow-gpu' && !usingGpu) {
    if (!required) return true; // auto: still native TensorFlow, on the CPU
    throw noGpu();
  }
  return true;
}

/** The dist folder of @tensorflow/tfjs-backend-wasm on disk (holds the .wasm binaries). */
export function wasmDistFolder(): string {
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
}

/**
 * tfjs clones (Identity kernel) every tensor it saves for the backward pass; the wasm Identity
 * copies the data although tensors are immutable. Sharing the buffer by reference count, as the
 * cpu backend and wasm's own Reshape do, removes one copy per saved tensor per training step.
 */
const sharedIdentity: tf.KernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as tf.TensorInfo;
  (backend as unknown as { incRef(dataId: object): void }).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
};

function shareIdentityOnWasm(): void {
  const existing = tf.getKernel('Identity', 'wasm');
  if (existing?.kernelFunc === sharedIdentity) return;
  if (existing !== undefined) tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({ kernelName: 'Identity', backendName: 'wasm', kernelFunc: sharedIdentity });
}

async function useWasm(): Promise<boolean> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Under Node the binaries are read from disk, so this works offline.
  wasm.setWasmPaths(wasmDistFolder() + path.sep);
  shareIdentityOnWasm();
  registerWasmCopyKernels();
  return tf.setBackend('wasm');
}

/**
 * Activates the named backend and returns tfjs's name for it. 'auto' prefers the native GPU build,
 * then the native CPU build, then wasm (several times faster than the pure-JS cpu backend).
 */
export async function selectBackend(name: BackendName, options: BackendOptions = {}): Promise<string> {
  if (options.threads !== undefined && !(Number.isSafeInteger(options.threads) && options.threads >= 1)) {
    throw new UsageError(`--threads ${options.threads}: expected an integer >= 1`);
  }
  // Production mode silences tfjs's console banners (stdout is for results) and skips debug checks.
  tf.enableProdMode();
  let ok: boolean;
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      ok = await useNative(name, true, options.threads);
      break;
    case 'wasm':
      ok = await useWasm();
      break;
    case 'cpu':
      ok = await tf.setBackend('cpu');
      break;
    case 'auto':
      ok = (await useNative('tensorflow-gpu', false, options.threads)) || (await useNative('tensorflow', false, options.threads))
        || (await useWasm().catch(() => false)) || (await tf.setBackend('cpu'));
      break;
    default:
      throw new UsageError(`unknown backend '${String(name)}'; expected one of ${BACKEND_NAMES.join(', ')}`);
  }
  if (!ok) throw new UsageError(`backend '${name}' failed to initialise`);
  await tf.ready();
  const active = tf.getBackend();
  if (options.threads !== undefined && active !== 'tensorflow') {
    throw new UsageError(`--threads ${options.threads} sets native TensorFlow's thread pool, but the backend is ${active}`,
      active === 'wasm' ? 'wasm splits the batch over worker threads instead: use --workers' : 'use --backend tensorflow');
  }
  return active;
}
