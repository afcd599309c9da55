/**
 * Chooses and initialises the TensorFlow.js backend. The native backends are optional packages
 * loaded with dynamic import() so that nothing else pays for them (and their install downloads
 * libtensorflow, which a plain `npm install` of this tool must not do).
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import { registerWasmCopyKernels } from './wasm-copy-kernels.js';

export type BackendName = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';

export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const NATIVE_PACKAGES = {
  'tensorflow-gpu': '@tensorflow/tfjs-node-gpu',
  tensorflow: '@tensorflow/tfjs-node',
} as const;

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
      `reinstall it with: npm install ${pkg}@4.22.0`);
  }
}

async function useNative(name: 'tensorflow-gpu' | 'tensorflow', required: boolean): Promise<boolean> {
  const pkg = NATIVE_PACKAGES[name];
  if (!(await importOptional(pkg))) {
    if (!required) return false;
    throw new UsageError(
      `--backend ${name} needs the optional package ${pkg}, which is not installed`,
      `install it with: npm install ${pkg}@4.22.0 (its install script downloads libtensorflow, so it needs network access${name === 'tensorflow-gpu' ? ', and a CUDA-capable GPU with CUDA/cuDNN' : ''}); or use --backend wasm`,
    );
  }
  // Both packages register the backend under the name 'tensorflow'.
  return tf.setBackend('tensorflow');
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
export async function selectBackend(name: BackendName): Promise<string> {
  // Production mode silences tfjs's console banners (stdout is for results) and skips debug checks.
  tf.enableProdMode();
  let ok: boolean;
  switch (name) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      ok = await useNative(name, true);
      break;
    case 'wasm':
      ok = await useWasm();
      break;
    case 'cpu':
      ok = await tf.setBackend('cpu');
      break;
    case 'auto':
      ok = (await useNative('tensorflow-gpu', false)) || (await useNative('tensorflow', false))
        || (await useWasm().catch(() => false)) || (await tf.setBackend('cpu'));
      break;
    default:
      throw new UsageError(`unknown backend '${String(name)}'; expected one of ${BACKEND_NAMES.join(', ')}`);
  }
  if (!ok) throw new UsageError(`backend '${name}' failed to initialise`);
  await tf.ready();
  return tf.getBackend();
}
