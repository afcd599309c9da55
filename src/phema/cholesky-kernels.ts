/**
 * The Cholesky factorisation's inner products as WebAssembly SIMD code (two float64 lanes per
 * instruction; about 4x the JavaScript loops here), over a memory that holds the factor itself.
 * Summing in two lanes changes only the order of the additions, i.e. rounding at the 1e-16 level.
 */
import {
  f64Add, f64Store, f64x2Add, f64x2ExtractLane, f64x2Mul, i32Add, localGet, localSet, v128Load, v128Load64Zero, whileAtLeast,
} from '../wasm/instructions.js';
import { buildModule, F64, I32, V128, type FunctionDefinition } from '../wasm/module-builder.js';
import { fixedSharedMemory, MAX_PAGES } from '../wasm/shared-memory.js';

/** dot(a, b, length) -> sum_k a[k] b[k] (byte addresses of float64 rows). */
function dotKernel(): FunctionDefinition {
  const [a, b, length, s0, s1] = [0, 1, 2, 3, 4];
  const add = (sum: number, offset: number, load = v128Load): number[] => [
    ...localGet(sum), ...localGet(a), ...load(offset), ...localGet(b), ...load(offset), ...f64x2Mul, ...f64x2Add, ...localSet(sum),
  ];
  const lanes = (sum: number): number[] => [...localGet(sum), ...f64x2ExtractLane(0), ...localGet(sum), ...f64x2ExtractLane(1), ...f64Add];
  return {
    name: 'dot', params: [I32, I32, I32], results: [F64], locals: [V128, V128],
    body: [
      ...whileAtLeast(length, 4, [{ local: a, bytes: 32 }, { local: b, bytes: 32 }], [...add(s0, 0), ...add(s1, 16)]),
      ...whileAtLeast(length, 1, [{ local: a, bytes: 8 }, { local: b, bytes: 8 }], add(s0, 0, v128Load64Zero)),
      ...lanes(s0), ...lanes(s1), ...f64Add,
    ],
  };
}

/** dot4(row, stride, other, length, out): out[r] = dot(row + r * stride, other, length) for r < 4. */
function dot4Kernel(): FunctionDefinition {
  const [row, stride, other, length, out, r1, r2, r3, x] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const sums = [9, 10, 11, 12];
  const rows = [row, r1, r2, r3];
  const step = (load: typeof v128Load): number[] => [
    ...localGet(other), ...load(0), ...localSet(x),
    ...rows.flatMap((r, i) => [...localGet(sums[i]), ...localGet(r), ...load(0), ...localGet(x), ...f64x2Mul, ...f64x2Add, ...localSet(sums[i])]),
  ];
  const advance = (bytes: number) => [...rows, other].map((local) => ({ local, bytes }));
  const rowAt = (target: number, from: number): number[] => [...localGet(from), ...localGet(stride), ...i32Add, ...localSet(target)];
  return {
    name: 'dot4', params: [I32, I32, I32, I32, I32], results: [], locals: [I32, I32, I32, V128, V128, V128, V128, V128],
    body: [
      ...rowAt(r1, row), ...rowAt(r2, r1), ...rowAt(r3, r2),
      ...whileAtLeast(length, 2, advance(16), step(v128Load)),
      ...whileAtLeast(length, 1, advance(8), step(v128Load64Zero)),
      ...sums.flatMap((sum, i) => [
        ...localGet(out), ...localGet(sum), ...f64x2ExtractLane(0), ...localGet(sum), ...f64x2ExtractLane(1), ...f64Add, ...f64Store(8 * i),
      ]),
    ],
  };
}

export interface CholeskyKernels {
  readonly memory: WebAssembly.Memory;
  dot(a: number, b: number, length: number): number;
  dot4(row: number, stride: number, other: number, length: number, out: number): void;
}

let compiled: WebAssembly.Module | undefined;

/** Kernels over a fresh memory of at least `bytes`. */
export function choleskyKernels(bytes: number): CholeskyKernels {
  compiled ??= new WebAssembly.Module(buildModule([dotKernel(), dot4Kernel()], MAX_PAGES));
  const memory = fixedSharedMemory(bytes, 'the Cholesky factor');
  const exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports;
  return { memory, dot: exports.dot as CholeskyKernels['dot'], dot4: exports.dot4 as CholeskyKernels['dot4'] };
}
