/**
 * Batched small matrix products for attention, as WebAssembly SIMD kernels built in code
 * (src/wasm/module-builder.ts). tfjs has no fast kernel for them on wasm: BatchMatMul with a batch
 * leaves XNNPACK (0.6 GFLOP/s) and the depthwise-convolution formulation reaches 2-4 GFLOP/s
 * because XNNPACK then walks one input channel per filter tap. These kernels read any strides, so
 * the operands need no transposes either.
 *
 *   C[j][m][n] = scale * sum_k A[j][m][k] B[j][k][n],  j < J problems.
 * 'rows' form: B and C contiguous along n; 4 x 8 output blocks, k scalar (needs M % 4 = N % 8 = 0).
 * 'dots' form: A and B contiguous along k; 2 x 4 output blocks, k in vectors of 4 (needs
 * M % 2 = N % 4 = K % 4 = 0); for it B is given as [j][n][k].
 * Plain float32 SIMD multiply and add (no fused multiply-add in wasm SIMD).
 */
import { buildModule, I32, V128, type ValueType } from '../../wasm/module-builder.js';
import { PAGE_BYTES } from '../../wasm/shared-memory.js';
import {
  block, br, brIf, end, f32Load, i32Add, i32Const, i32LtU, localGet, localSet, loop, v128Load, v128Store,
} from '../../wasm/instructions.js';

type Code = number[];
const simd = (op: number, ...imm: number[]): Code => [0xfd, ...(op < 0x80 ? [op] : [(op & 0x7f) | 0x80, op >> 7]), ...imm];
const f32x4Splat = simd(0x13);
const f32x4ExtractLane = (lane: number): Code => simd(0x1f, lane);
const f32x4Add = simd(0xe4);
const f32x4Mul = simd(0xe6);
const v128Zero = [0xfd, 0x0c, ...new Array<number>(16).fill(0)];
const i32Mul: Code = [0x6c];
const f32Add: Code = [0x92];
const f32Mul: Code = [0x94];
const f32Store = (offset = 0): Code => [0x38, 0, offset];
const F32 = 0x7d as unknown as ValueType;

const add = (target: number, ...terms: Code[]): Code => [...terms.flatMap((t, i) => (i === 0 ? t : [...t, ...i32Add])), ...localSet(target)];
const bump = (local: number, by: Code): Code => add(local, localGet(local), by);
/** for (counter = 0; counter < limit; counter += step) body */
const forLoop = (counter: number, limit: number, step: number, body: Code): Code => [
  ...i32Const(0), ...localSet(counter), ...block, ...loop,
  ...localGet(counter), ...localGet(limit), ...i32LtU, ...[0x45], ...brIf(1), // i32.eqz: leave when !(counter < limit)
  ...body,
  ...bump(counter, i32Const(step)), ...br(0), ...end, ...end,
];

// rows form: parameters 0-13, then locals.
const R = { a: 0, aJ: 1, aM: 2, aK: 3, b: 4, bJ: 5, bK: 6, c: 7, cJ: 8, cM: 9, J: 10, M: 11, N: 12, K: 13 };
function rowsKernel(): Code {
  const [j, m, n, k, pa, pb, pc] = [14, 15, 16, 17, 18, 19, 20];
  const acc = (i: number): number => 21 + i; // 8 accumulators
  const [b0, b1, s] = [29, 30, 31];
  const rowPtr = (r: number): Code => [...localGet(pa), ...localGet(R.aM), ...i32Const(r), ...i32Mul, ...i32Add];
  const inner: Code = [
    ...localGet(pb), ...v128Load(0), ...localSet(b0), ...localGet(pb), ...v128Load(16), ...localSet(b1),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...rowPtr(r), ...f32Load(0), ...f32x4Splat, ...localSet(s),
      ...localGet(acc(2 * r)), ...localGet(s), ...localGet(b0), ...f32x4Mul, ...f32x4Add, ...localSet(acc(2 * r)),
      ...localGet(acc(2 * r + 1)), ...localGet(s), ...localGet(b1), ...f32x4Mul, ...f32x4Add, ...localSet(acc(2 * r + 1)),
    ]),
    ...bump(pa, localGet(R.aK)), ...bump(pb, localGet(R.bK)),
  ];
  const tile: Code = [
    ...[0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) => [...v128Zero, ...localSet(acc(i))]),
    // pa = a + j aJ + m aM;  pb = b + j bJ + 4 n
    ...add(pa, localGet(R.a), [...localGet(j), ...localGet(R.aJ), ...i32Mul], [...localGet(m), ...localGet(R.aM), ...i32Mul]),
    ...add(pb, localGet(R.b), [...localGet(j), ...localGet(R.bJ), ...i32Mul], [...localGet(n), ...i32Const(4), ...i32Mul]),
    ...forLoop(k, R.K, 1, inner),
    ...add(pc, localGet(R.c), [...localGet(j), ...localGet(R.cJ), ...i32Mul], [...localGet(m), ...localGet(R.cM), ...i32Mul], [...localGet(n), ...i32Const(4), ...i32Mul]),
    ...[0, 1, 2, 3].flatMap((r) => [
      ...localGet(pc), ...localGet(R.cM), ...i32Const(r), ...i32Mul, ...i32Add, ...localGet(acc(2 * r)), ...v128Store(0),
      ...localGet(pc), ...localGet(R.cM), ...i32Const(r), ...i32Mul, ...i32Add, ...localGet(acc(2 * r + 1)), ...v128Store(16),
    ]),
  ];
  return forLoop(j, R.J, 1, forLoop(m, R.M, 4, forLoop(n, R.N, 8, tile)));
}

// dots form: parameters 0-14 (scale is f32), then locals.
const D = { a: 0, aJ: 1, aM: 2, b: 3, bJ: 4, bN: 5, c: 6, cJ: 7, cM: 8, cN: 9, J: 10, M: 11, N: 12, K: 13, scale: 14 };
function dotsKernel(): Code {
  const [j, m, n, k, pa0, pa1, pb0, pb1, pb2, pb3, pc] = [15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25];
  const pbs = [pb0, pb1, pb2, pb3];
  const acc = (r: number, c: number): number => 26 + 4 * r + c; // 8 accumulators
  const [va0, va1, vb] = [34, 35, 36];
  const inner: Code = [
    ...localGet(pa0), ...v128Load(0), ...localSet(va0), ...localGet(pa1), ...v128Load(0), ...localSet(va1),
    ...[0, 1, 2, 3].flatMap((c) => [
      ...localGet(pbs[c]), ...v128Load(0), ...localSet(vb),
      ...[0, 1].flatMap((r) => [
        ...localGet(acc(r, c)), ...localGet(r === 0 ? va0 : va1), ...localGet(vb), ...f32x4Mul, ...f32x4Add, ...localSet(acc(r, c)),
      ]),
    ]),
    ...[pa0, pa1, ...pbs].flatMap((p) => bump(p, i32Const(16))),
  ];
  const horizontal = (r: number, c: number): Code => [
    ...localGet(pc), ...localGet(D.cM), ...i32Const(r), ...i32Mul, ...i32Add, ...localGet(D.cN), ...i32Const(c), ...i32Mul, ...i32Add,
    ...localGet(acc(r, c)), ...f32x4ExtractLane(0), ...localGet(acc(r, c)), ...f32x4ExtractLane(1), ...f32Add,
    ...localGet(acc(r, c)), ...f32x4ExtractLane(2), ...f32Add, ...localGet(acc(r, c)), ...f32x4ExtractLane(3), ...f32Add,
    ...localGet(D.scale), ...f32Mul, ...f32Store(0),
  ];
  const tile: Code = [
    ...[0, 1].flatMap((r) => [0, 1, 2, 3].flatMap((c) => [...v128Zero, ...localSet(acc(r, c))])),
    ...add(pa0, localGet(D.a), [...localGet(j), ...localGet(D.aJ), ...i32Mul], [...localGet(m), ...localGet(D.aM), ...i32Mul]),
    ...add(pa1, localGet(pa0), localGet(D.aM)),
    ...add(pb0, localGet(D.b), [...localGet(j), ...localGet(D.bJ), ...i32Mul], [...localGet(n), ...localGet(D.bN), ...i32Mul]),
    ...[1, 2, 3].flatMap((c) => add(pbs[c], localGet(pbs[c - 1]), localGet(D.bN))),
    ...forLoop(k, D.K, 4, inner),
    ...add(pc, localGet(D.c), [...localGet(j), ...localGet(D.cJ), ...i32Mul], [...localGet(m), ...localGet(D.cM), ...i32Mul], [...localGet(n), ...localGet(D.cN), ...i32Mul]),
    ...[0, 1].flatMap((r) => [0, 1, 2, 3].flatMap((c) => horizontal(r, c))),
  ];
  return forLoop(j, D.J, 1, forLoop(m, D.M, 2, forLoop(n, D.N, 4, tile)));
}

const MAX_PAGES = 4096; // 256 MiB of address space at most; only what is used is committed
let compiled: WebAssembly.Module | undefined;
let instance: { memory: WebAssembly.Memory; pages: number; rows: (...a: number[]) => void; dots: (...a: number[]) => void } | undefined;

function kernels(bytes: number): NonNullable<typeof instance> {
  const pages = Math.ceil(bytes / PAGE_BYTES);
  if (instance !== undefined && instance.pages >= pages) return instance;
  compiled ??= new WebAssembly.Module(buildModule([
    { name: 'rows', params: new Array<ValueType>(14).fill(I32), results: [], locals: [...new Array<ValueType>(7).fill(I32), ...new Array<ValueType>(11).fill(V128)], body: rowsKernel() },
    { name: 'dots', params: [...new Array<ValueType>(14).fill(I32), F32], results: [], locals: [...new Array<ValueType>(11).fill(I32), ...new Array<ValueType>(11).fill(V128)], body: dotsKernel() },
  ], MAX_PAGES));
  // A fresh memory when more is needed: sizes are fixed per network, so this happens once or twice.
  const memory = new WebAssembly.Memory({ initial: pages, maximum: MAX_PAGES, shared: true });
  const exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports;
  instance = { memory, pages, rows: exports.rows as (...a: number[]) => void, dots: exports.dots as (...a: number[]) => void };
  return instance;
}

/** Element strides of an operand: per problem j, per row, per column (the contracted or output axes). */
export interface Strides { j: number; outer: number; inner: number }

export interface ProductSpec {
  form: 'rows' | 'dots';
  J: number; M: number; N: number; K: number;
  /** rows: A [j][m][k] (any strides), B [j][k][n] (n contiguous). dots: A [j][m][k], B [j][n][k] (k contiguous). */
  a: Float32Array; aStrides: Strides;
  b: Float32Array; bStrides: Strides;
  /** Output C [j][m][n]: its strides and total size (rows: n contiguous). */
  cStrides: Strides; cSize: number;
  scale?: number;
}

/** True when the blocking of the chosen form divides the shape (otherwise use another method). */
export function fits(form: ProductSpec['form'], M: number, N: number, K: number): boolean {
  return form === 'rows' ? M % 4 === 0 && N % 8 === 0 : M % 2 === 0 && N % 4 === 0 && K % 4 === 0;
}

export function batchedProduct(p: ProductSpec): Float32Array {
  const bytes = 4 * (p.a.length + p.b.length + p.cSize);
  const k = kernels(bytes);
  const heap = new Float32Array(k.memory.buffer);
  heap.set(p.a, 0);
  heap.set(p.b, p.a.length);
  const aPtr = 0;
  const bPtr = 4 * p.a.length;
  const cPtr = bPtr + 4 * p.b.length;
  const { a: sa, b: sb, c: sc } = { a: p.aStrides, b: p.bStrides, c: p.cStrides };
  if (p.form === 'rows') {
    if (sb.inner !== 1 || sc.inner !== 1) throw new Error('rows form: B and C must be contiguous along n');
    k.rows(aPtr, 4 * sa.j, 4 * sa.outer, 4 * sa.inner, bPtr, 4 * sb.j, 4 * sb.outer, cPtr, 4 * sc.j, 4 * sc.outer, p.J, p.M, p.N, p.K);
  } else {
    if (sa.inner !== 1 || sb.inner !== 1) throw new Error('dots form: A and B must be contiguous along k');
    k.dots(aPtr, 4 * sa.j, 4 * sa.outer, bPtr, 4 * sb.j, 4 * sb.outer, cPtr, 4 * sc.j, 4 * sc.outer, 4 * sc.inner, p.J, p.M, p.N, p.K, p.scale ?? 1);
  }
  return heap.slice(cPtr / 4, cPtr / 4 + p.cSize);
}
