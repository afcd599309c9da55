/**
 * The blend's WebAssembly kernels (decode-kernels.ts, accumulate-kernels.ts) as one module,
 * compiled once per thread and instantiated over the job's shared memory (blend-memory.ts), so the
 * main thread and the helper workers run the same code on the same bytes. Arguments are byte
 * addresses in that memory.
 */
import { accumulateKernel, encodeF32Kernel, nonFiniteCheckKernel, zeroKernel } from './accumulate-kernels.js';
import { decodeKernels } from './decode-kernels.js';
import { encodeHalfKernel } from './encode-half-kernel.js';
import { BF16_FORMAT, F16_FORMAT } from '../safetensors/half-floats.js';
import { buildModule } from '../wasm/module-builder.js';
import { fixedSharedMemory, MAX_PAGES } from '../wasm/shared-memory.js';

/** Elements per cache block: 8 decoded float64 blocks of 8 KiB stay in L1/L2 (measured best of 256 to 4096). */
export const BLOCK = 1024;
export const BLOCK_BYTES = BLOCK * 8;
/** Snapshots accumulated together: the widest accumulate kernel. */
export const BATCH = 8;

type Decode = (src: number, dst: number, count: number) => void;
type Accumulate = (accA: number, accB: number, count: number, values: number, weightsA: number, weightsB: number) => void;

export interface BlendKernels {
  readonly decodeF32: Decode;
  readonly decodeF16: Decode;
  readonly decodeBF16: Decode;
  readonly decodeF64: Decode;
  /** zeroF64(address, count): count float64 zeros. */
  readonly zeroF64: (address: number, count: number) => void;
  /** accumulate[targets - 1][snapshots - 1], for 1 or 2 targets and 1 to BATCH snapshots. */
  readonly accumulate: readonly (readonly Accumulate[])[];
  readonly anyNonFinite: (address: number, count: number) => number;
  readonly encodeF32: (src: number, dst: number, count: number) => void;
  readonly encodeF16: (src: number, dst: number, count: number) => void;
  readonly encodeBF16: (src: number, dst: number, count: number) => void;
}

let compiled: WebAssembly.Module | undefined;

/** The compiled kernels, built once per process (helper threads receive this module, not the bytes). */
export function kernelModule(): WebAssembly.Module {
  if (compiled === undefined) {
    const accumulators = ([1, 2] as const).flatMap((t) => Array.from({ length: BATCH }, (_, s) => accumulateKernel(t, s + 1, BLOCK_BYTES)));
    compiled = new WebAssembly.Module(buildModule([...decodeKernels(), ...accumulators, nonFiniteCheckKernel(), zeroKernel(), encodeF32Kernel(), encodeHalfKernel('encodeF16', F16_FORMAT), encodeHalfKernel('encodeBF16', BF16_FORMAT)], MAX_PAGES));
  }
  return compiled;
}

export function instantiateKernels(memory: WebAssembly.Memory, module = kernelModule()): BlendKernels {
  const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Record<string, unknown>;
  const table = (prefix: string): Accumulate[][] => [1, 2].map((t) => Array.from({ length: BATCH }, (_, s) => exports[`${prefix}${t}x${s + 1}`] as Accumulate));
  return {
    decodeF32: exports.decodeF32 as Decode,
    decodeF16: exports.decodeF16 as Decode,
    decodeBF16: exports.decodeBF16 as Decode,
    decodeF64: exports.decodeF64 as Decode,
    zeroF64: exports.zeroF64 as BlendKernels['zeroF64'],
    accumulate: table('accumulate'),
    anyNonFinite: exports.anyNonFinite as BlendKernels['anyNonFinite'],
    encodeF32: exports.encodeF32 as BlendKernels['encodeF32'],
    encodeF16: exports.encodeF16 as BlendKernels['encodeF16'],
    encodeBF16: exports.encodeBF16 as BlendKernels['encodeBF16'],
  };
}

/** A shared memory of at least `bytes`, fixed in size (never grown, so views stay valid). */
export function createBlendMemory(bytes: number): WebAssembly.Memory {
  return fixedSharedMemory(bytes, "the blend's working memory");
}
