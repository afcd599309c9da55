/**
 * The WebAssembly instructions the kernels use, as byte sequences (Core Specification 2.0,
 * section 5.4). Memory accesses take a constant byte offset and claim alignment 1 (always valid:
 * WebAssembly allows unaligned access, the hint only promises more).
 */
import { sleb, uleb } from './module-builder.js';

type Code = number[];

const memarg = (offset: number): Code => [0, ...uleb(offset)];
const simd = (opcode: number, ...immediates: number[]): Code => [0xfd, ...uleb(opcode), ...immediates];

/** Control. Blocks and loops carry no values (block type 0x40). */
export const block: Code = [0x02, 0x40];
export const loop: Code = [0x03, 0x40];
export const end: Code = [0x0b];
export const br = (depth: number): Code => [0x0c, ...uleb(depth)];
export const brIf = (depth: number): Code => [0x0d, ...uleb(depth)];

export const localGet = (index: number): Code => [0x20, ...uleb(index)];
export const localSet = (index: number): Code => [0x21, ...uleb(index)];

/** Pointers (locals) advanced by a number of bytes each time round a loop. */
export interface Advance {
  readonly local: number;
  readonly bytes: number;
}

/** while (remaining >= step) { body; each pointer += its bytes; remaining -= step }. */
export function whileAtLeast(remaining: number, step: number, advances: readonly Advance[], body: readonly number[]): Code {
  const bump = (local: number, by: number): Code => [...localGet(local), ...i32Const(by), ...i32Add, ...localSet(local)];
  return [
    ...block, ...loop,
    ...localGet(remaining), ...i32Const(step), ...i32LtU, ...brIf(1),
    ...body,
    ...advances.flatMap((a) => bump(a.local, a.bytes)),
    ...localGet(remaining), ...i32Const(step), ...i32Sub, ...localSet(remaining),
    ...br(0),
    ...end, ...end,
  ];
}

/** Scalars. */
export const i32Const = (value: number): Code => [0x41, ...sleb(value)];
export const i32Add: Code = [0x6a];
export const i32Sub: Code = [0x6b];
export const i32Shl: Code = [0x74];
export const i32LtU: Code = [0x49];
export const i32Eqz: Code = [0x45];
export const i32LoadU16 = (offset = 0): Code => [0x2f, ...memarg(offset)];
export const f32Load = (offset = 0): Code => [0x2a, ...memarg(offset)];
export const f32Store = (offset = 0): Code => [0x38, ...memarg(offset)];
export const f64Load = (offset = 0): Code => [0x2b, ...memarg(offset)];
export const f64Store = (offset = 0): Code => [0x39, ...memarg(offset)];
export const i32Store16 = (offset = 0): Code => [0x3b, ...memarg(offset)];
export const f64Add: Code = [0xa0];
export const f64PromoteF32: Code = [0xbb];
export const f32DemoteF64: Code = [0xb6];
/** memory.copy (bulk memory): [dst, src, bytes] on the stack. */
export const memoryCopy: Code = [0xfc, ...uleb(10), 0x00, 0x00];
/** memory.fill (bulk memory): [dst, byte value, bytes] on the stack. */
export const memoryFill: Code = [0xfc, ...uleb(11), 0x00];

/** 128-bit vectors. */
export const v128Load = (offset = 0): Code => simd(0x00, ...memarg(offset));
export const v128Load64Splat = (offset = 0): Code => simd(0x0a, ...memarg(offset));
export const v128Store = (offset = 0): Code => simd(0x0b, ...memarg(offset));
export const v128Load64Zero = (offset = 0): Code => simd(0x5d, ...memarg(offset));
export const v128Store64Lane = (offset: number, lane: number): Code => simd(0x5b, ...memarg(offset), lane);
export const v128Const = (bytes: Uint8Array): Code => simd(0x0c, ...bytes);
export const i8x16Shuffle = (lanes: readonly number[]): Code => simd(0x0d, ...lanes);
export const i32x4Splat: Code = simd(0x11);
export const i32x4ExtractLane = (lane: number): Code => simd(0x1b, lane);
export const f64x2ExtractLane = (lane: number): Code => simd(0x21, lane);
export const i32x4Eq: Code = simd(0x37);
export const i32x4Ne: Code = simd(0x38);
export const i32x4LtS: Code = simd(0x39);
export const i32x4GtS: Code = simd(0x3b);
export const f64x2Ne: Code = simd(0x48);
export const v128And: Code = simd(0x4e);
export const v128Or: Code = simd(0x50);
/** bitselect(a, b, mask) = (a & mask) | (b & ~mask). */
export const v128Bitselect: Code = simd(0x52);
export const v128AnyTrue: Code = simd(0x53);
export const f32x4DemoteF64x2Zero: Code = simd(0x5e);
export const f64x2PromoteLowF32x4: Code = simd(0x5f);
export const i32x4ExtendLowI16x8U: Code = simd(0xa9);
export const i32x4Shl: Code = simd(0xab);
export const i32x4ShrU: Code = simd(0xad);
export const i32x4Add: Code = simd(0xae);
export const i32x4Sub: Code = simd(0xb1);
export const f32x4Mul: Code = simd(0xe6);
export const f64x2Abs: Code = simd(0xec);
export const f64x2Add: Code = simd(0xf0);
export const f64x2Sub: Code = simd(0xf1);
export const f64x2Mul: Code = simd(0xf2);
/** Two float64 lanes to int32 lanes 0 and 1 (saturating, NaN to 0), lanes 2 and 3 zero. */
export const i32x4TruncSatF64x2SZero: Code = simd(0xfc);

/** A v128 constant holding the same float64 in both lanes. */
export function f64x2Const(value: number): Code {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, value, true);
  view.setFloat64(8, value, true);
  return v128Const(bytes);
}

/** A v128 constant holding the same 32-bit pattern in all four lanes. */
export function i32x4Const(value: number): Code {
  const bytes = new Uint8Array(16);
  const view = new DataView(bytes.buffer);
  for (let lane = 0; lane < 4; lane++) view.setUint32(4 * lane, value >>> 0, true);
  return v128Const(bytes);
}
