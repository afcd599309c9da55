/**
 * WebAssembly code that widens snapshot values to float64, four at a time: F32 through the
 * hardware's promote, BF16 by shifting its bits into a float32, F16 by bit arithmetic (below).
 * Every conversion is exact, so the decoded values equal those of the tables in half-floats.ts
 * (NaN payloads aside). Signature of each: (src byte address, dst byte address, count).
 */
import {
  f32x4Mul, f64PromoteF32, f64Store, f64x2ExtractLane, f64x2PromoteLowF32x4, f32Load, i32LoadU16, i32x4Add,
  i32x4Const, i32x4ExtendLowI16x8U, i32x4GtS, i32x4Shl, i32x4Splat, i32Const, i32Shl, i8x16Shuffle, localGet,
  localSet, memoryCopy, v128And, v128Bitselect, v128Load, v128Load64Zero, v128Or, v128Store, whileAtLeast,
} from '../wasm/instructions.js';
import { I32, V128, type FunctionDefinition } from '../wasm/module-builder.js';

const SRC = 0;
const DST = 1;
const COUNT = 2;
const BITS = 3; // v128 local: the values as four 32-bit lanes
const TEMP = 4; // v128 local

const HIGH_PAIR_TO_LOW = [8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
const TWO_POW_112_F32 = 0x77800000;

/**
 * F16 lanes (u16 in i32 lanes of BITS) to float32 lanes. Exponent and mantissa shifted into place
 * read as a float32 2^112 times too small, for normal and subnormal halves alike (subnormal halves
 * land on float32 subnormals, which WebAssembly never flushes), so one exact multiplication fixes
 * the scale. Infinities and NaNs (exponent 31) instead get the float32 exponent 255.
 */
const f16ToF32: number[] = [
  ...localGet(BITS), ...i32x4Const(0x7fff), ...v128And, ...i32Const(13), ...i32x4Shl, ...localSet(TEMP),
  ...localGet(TEMP), ...i32x4Const(0x70000000), ...i32x4Add,
  ...localGet(TEMP), ...i32x4Const(TWO_POW_112_F32), ...f32x4Mul,
  ...localGet(TEMP), ...i32x4Const(0x7bff << 13), ...i32x4GtS,
  ...v128Bitselect,
  ...localGet(BITS), ...i32x4Const(0x8000), ...v128And, ...i32Const(16), ...i32x4Shl,
  ...v128Or,
];

const bf16ToF32: number[] = [...localGet(BITS), ...i32Const(16), ...i32x4Shl];

/** Four float32 lanes on the stack to four float64 values at DST. */
const storeFourWidened: number[] = [
  ...localSet(TEMP),
  ...localGet(DST), ...localGet(TEMP), ...f64x2PromoteLowF32x4, ...v128Store(0),
  ...localGet(DST), ...localGet(TEMP), ...localGet(TEMP), ...i8x16Shuffle(HIGH_PAIR_TO_LOW), ...f64x2PromoteLowF32x4, ...v128Store(16),
];

function halfDecoder(name: string, toF32: readonly number[]): FunctionDefinition {
  const four = [...localGet(SRC), ...v128Load64Zero(0), ...i32x4ExtendLowI16x8U, ...localSet(BITS), ...toF32, ...storeFourWidened];
  const one = [
    ...localGet(DST),
    ...localGet(SRC), ...i32LoadU16(0), ...i32x4Splat, ...localSet(BITS), ...toF32,
    ...f64x2PromoteLowF32x4, ...f64x2ExtractLane(0), ...f64Store(0),
  ];
  return {
    name, params: [I32, I32, I32], results: [], locals: [V128, V128],
    body: [
      ...whileAtLeast(COUNT, 4, [{ local: SRC, bytes: 8 }, { local: DST, bytes: 32 }], four),
      ...whileAtLeast(COUNT, 1, [{ local: SRC, bytes: 2 }, { local: DST, bytes: 8 }], one),
    ],
  };
}

function f32Decoder(): FunctionDefinition {
  const four = [...localGet(SRC), ...v128Load(0), ...storeFourWidened];
  const one = [...localGet(DST), ...localGet(SRC), ...f32Load(0), ...f64PromoteF32, ...f64Store(0)];
  return {
    name: 'decodeF32', params: [I32, I32, I32], results: [], locals: [V128, V128],
    body: [
      ...whileAtLeast(COUNT, 4, [{ local: SRC, bytes: 16 }, { local: DST, bytes: 32 }], four),
      ...whileAtLeast(COUNT, 1, [{ local: SRC, bytes: 4 }, { local: DST, bytes: 8 }], one),
    ],
  };
}

function f64Decoder(): FunctionDefinition {
  return {
    name: 'decodeF64', params: [I32, I32, I32], results: [], locals: [],
    body: [...localGet(DST), ...localGet(SRC), ...localGet(COUNT), ...i32Const(3), ...i32Shl, ...memoryCopy],
  };
}

export function decodeKernels(): FunctionDefinition[] {
  return [f32Decoder(), halfDecoder('decodeF16', f16ToF32), halfDecoder('decodeBF16', bf16ToF32), f64Decoder()];
}
