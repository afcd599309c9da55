/**
 * WebAssembly code for the blend's inner loop, two float64 lanes per instruction:
 *   acc[e] += w_0 * v_0[e]; acc[e] += w_1 * v_1[e]; ... for S snapshots in ascending order,
 * for one target or two (each loaded value serves both). WebAssembly has no fused multiply-add in
 * f64x2 (mul and add each round), so every element sees exactly the roundings of the plain
 * one-snapshot-at-a-time loop, whatever the lane, unrolling or thread split. Independent sums
 * (two vectors, and two targets) hide the add latency.
 *
 * accumulate{T}x{S}(accA, accB, count, values, weightsA, weightsB): values are S decoded blocks of
 * float64 `blockBytes` apart; weights are S float64 each. With T = 1, accB and weightsB are unused.
 */
import {
  f32DemoteF64, f32Store, f32x4DemoteF64x2Zero, f64Load, f64Store, f64x2Add, f64x2ExtractLane, f64x2Mul, f64x2Ne,
  i32Const, i32Shl, i32x4Const, i8x16Shuffle, localGet, localSet, memoryFill, v128AnyTrue, v128Load, v128Load64Splat, v128Load64Zero, v128Store,
  whileAtLeast,
} from '../wasm/instructions.js';
import { I32, V128, type FunctionDefinition } from '../wasm/module-builder.js';

const ACC = [0, 1];
const COUNT = 2;
const VALUES = 3;
const WEIGHTS = [4, 5];
const PARAMS = 6;

export function accumulateKernel(targets: 1 | 2, snapshots: number, blockBytes: number): FunctionDefinition {
  const weight = (t: number, j: number): number => PARAMS + t * snapshots + j;
  // Two vectors (four elements) per iteration: measured faster than four or eight, whose extra
  // sums push the splatted weights out of the 16 vector registers.
  const vectors = 2;
  const sum = (t: number, u: number): number => PARAMS + targets * snapshots + t * vectors + u;
  const value = PARAMS + targets * snapshots + targets * vectors;
  const ts = Array.from({ length: targets }, (_, t) => t);

  const prologue = ts.flatMap((t) => Array.from({ length: snapshots }, (_, j) => [
    ...localGet(WEIGHTS[t]), ...v128Load64Splat(8 * j), ...localSet(weight(t, j)),
  ]).flat());

  /** `width` vectors per iteration; width 0 means one element (lane 0 of one vector). */
  const iteration = (width: number): number[] => {
    const us = Array.from({ length: Math.max(1, width) }, (_, u) => u);
    const load = width === 0 ? v128Load64Zero : v128Load;
    const code: number[] = [];
    for (const t of ts) for (const u of us) code.push(...localGet(ACC[t]), ...load(16 * u), ...localSet(sum(t, u)));
    for (let j = 0; j < snapshots; j++) {
      for (const u of us) {
        code.push(...localGet(VALUES), ...load(j * blockBytes + 16 * u), ...localSet(value));
        for (const t of ts) {
          code.push(...localGet(sum(t, u)), ...localGet(weight(t, j)), ...localGet(value), ...f64x2Mul, ...f64x2Add, ...localSet(sum(t, u)));
        }
      }
    }
    for (const t of ts) {
      for (const u of us) {
        code.push(...localGet(ACC[t]), ...localGet(sum(t, u)));
        code.push(...(width === 0 ? [...f64x2ExtractLane(0), ...f64Store(0)] : v128Store(16 * u)));
      }
    }
    return code;
  };
  const advance = (bytes: number) => [...ts.map((t) => ({ local: ACC[t], bytes })), { local: VALUES, bytes }];

  return {
    name: `accumulate${targets}x${snapshots}`,
    params: [I32, I32, I32, I32, I32, I32],
    results: [],
    locals: Array<typeof V128>(targets * snapshots + targets * vectors + 1).fill(V128),
    body: [
      ...prologue,
      ...whileAtLeast(COUNT, 2 * vectors, advance(16 * vectors), iteration(vectors)),
      ...whileAtLeast(COUNT, 2, advance(16), iteration(1)),
      ...whileAtLeast(COUNT, 1, advance(8), iteration(0)),
    ],
  };
}

/**
 * zeroF64(dst, count): count float64 zeros, by the bulk-memory fill. TypedArray.fill on a shared
 * buffer stores element by element (it must, for other threads' sake), several times slower, and
 * zeroing the sums is K x the window's float64 on every window.
 */
export function zeroKernel(): FunctionDefinition {
  return {
    name: 'zeroF64', params: [I32, I32], results: [], locals: [],
    body: [...localGet(0), ...i32Const(0), ...localGet(1), ...i32Const(3), ...i32Shl, ...memoryFill],
  };
}

/**
 * anyNonFinite(address, count) -> 1 if any of the float64 values is NaN or +-Inf: finite * 0 is
 * +-0 while NaN * 0 and Inf * 0 are NaN, so the sums of v * 0 stay zero exactly when all are finite.
 */
export function nonFiniteCheckKernel(): FunctionDefinition {
  const [address, count, p0, p1] = [0, 1, 2, 3];
  const zero = i32x4Const(0);
  const add = (p: number, offset: number, load = v128Load): number[] => [
    ...localGet(p), ...localGet(address), ...load(offset), ...zero, ...f64x2Mul, ...f64x2Add, ...localSet(p),
  ];
  return {
    name: 'anyNonFinite', params: [I32, I32], results: [I32], locals: [V128, V128],
    body: [
      ...whileAtLeast(count, 4, [{ local: address, bytes: 32 }], [...add(p0, 0), ...add(p1, 16)]),
      ...whileAtLeast(count, 1, [{ local: address, bytes: 8 }], add(p0, 0, v128Load64Zero)),
      ...localGet(p0), ...localGet(p1), ...f64x2Add, ...zero, ...f64x2Ne, ...v128AnyTrue,
    ],
  };
}

/** encodeF32(src float64 address, dst float32 address, count): rounds to nearest, ties to even. */
export function encodeF32Kernel(): FunctionDefinition {
  const [src, dst, count] = [0, 1, 2];
  const lowHalves = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
  return {
    name: 'encodeF32', params: [I32, I32, I32], results: [], locals: [],
    body: [
      ...whileAtLeast(count, 4, [{ local: src, bytes: 32 }, { local: dst, bytes: 16 }], [
        ...localGet(dst),
        ...localGet(src), ...v128Load(0), ...f32x4DemoteF64x2Zero,
        ...localGet(src), ...v128Load(16), ...f32x4DemoteF64x2Zero,
        ...i8x16Shuffle(lowHalves), ...v128Store(0),
      ]),
      ...whileAtLeast(count, 1, [{ local: src, bytes: 8 }, { local: dst, bytes: 4 }], [
        ...localGet(dst), ...localGet(src), ...f64Load(0), ...f32DemoteF64, ...f32Store(0),
      ]),
    ],
  };
}
