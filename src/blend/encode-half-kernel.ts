/**
 * WebAssembly code that encodes float64 sums as F16 or BF16, four at a time, rounding to nearest
 * (ties to even) straight from the float64 bits: the same arithmetic as half-floats.ts, lane by
 * lane, so the bytes are identical (going through float32 would round twice).
 *
 * Per value, with hi/lo the upper and lower 32 bits of the double and E its biased exponent:
 *  - normal range: exponent and the top mantissa bits shifted into place and rebiased, plus the
 *    rounding bit when anything below it (or the last kept bit) is set; a carry into the exponent
 *    is the correct rounding, up to infinity;
 *  - below it: |x| scaled to units of the smallest subnormal, rounded by adding and subtracting 2^52;
 *  - above it: infinity; NaN stays a (quiet) NaN. The sign is or-ed back in.
 * Signature: (src float64 address, dst address, count).
 */
import {
  block, brIf, end, f64x2Abs, f64x2Add, f64x2Const, f64x2Mul, f64x2Sub, i32Const, i32Eqz, i32Store16, i32x4Add, i32x4Const, i32x4Eq,
  i32x4ExtractLane, i32x4GtS, i32x4LtS, i32x4Ne, i32x4ShrU, i32x4Sub, i32x4TruncSatF64x2SZero, i8x16Shuffle,
  localGet, localSet, v128And, v128AnyTrue, v128Bitselect, v128Load, v128Load64Zero, v128Or, v128Store64Lane, whileAtLeast,
} from '../wasm/instructions.js';
import { infinityBits, quietNaNBits, subnormalScaleLog2, type HalfFormat } from '../safetensors/half-floats.js';
import { I32, V128, type FunctionDefinition } from '../wasm/module-builder.js';

const [SRC, DST, COUNT] = [0, 1, 2];
const [A, B, HI, LO, E, R] = [3, 4, 5, 6, 7, 8]; // v128 locals

const HI_WORDS = [4, 5, 6, 7, 12, 13, 14, 15, 20, 21, 22, 23, 28, 29, 30, 31];
const LO_WORDS = [0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18, 19, 24, 25, 26, 27];
const TWO_LOW_INTS = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const LOW_HALVES = [0, 1, 4, 5, 8, 9, 12, 13, 0, 1, 4, 5, 8, 9, 12, 13];
const ROUND_TO_INTEGER = 2 ** 52;

/** The four values in A (doubles 0, 1) and B (doubles 2, 3) to four encoded halves in i32 lanes, in R. */
function encodeFour(f: HalfFormat): number[] {
  const shift = 20 - f.mantissaBits;
  const minNormal = 1023 + 1 - f.bias; // biased float64 exponent of the smallest normal half
  const maxNormal = 1023 + f.bias;
  const splitWords = [
    ...localGet(A), ...localGet(B), ...i8x16Shuffle(HI_WORDS), ...localSet(HI),
    ...localGet(A), ...localGet(B), ...i8x16Shuffle(LO_WORDS), ...localSet(LO),
    ...localGet(HI), ...i32Const(20), ...i32x4ShrU, ...i32x4Const(0x7ff), ...v128And, ...localSet(E),
  ];
  // base = exponent and kept mantissa, rebiased; + rounding bit if sticky bits or the last kept bit.
  const normal = [
    ...localGet(HI), ...i32Const(shift), ...i32x4ShrU, ...i32x4Const((1 << (11 + f.mantissaBits)) - 1), ...v128And,
    ...i32x4Const((1023 - f.bias) << f.mantissaBits), ...i32x4Sub, ...localSet(R),
    ...localGet(R),
    ...localGet(HI), ...i32Const(shift - 1), ...i32x4ShrU, ...i32x4Const(1), ...v128And,
    ...localGet(HI), ...i32x4Const((1 << (shift - 1)) - 1), ...v128And, ...localGet(LO), ...v128Or,
    ...localGet(R), ...i32x4Const(1), ...v128And, ...v128Or, ...i32x4Const(0), ...i32x4Ne,
    ...v128And, ...i32x4Add,
  ];
  const subnormalOf = (local: number): number[] => [
    ...localGet(local), ...f64x2Abs, ...f64x2Const(2 ** subnormalScaleLog2(f)), ...f64x2Mul,
    ...f64x2Const(ROUND_TO_INTEGER), ...f64x2Add, ...f64x2Const(ROUND_TO_INTEGER), ...f64x2Sub, ...i32x4TruncSatF64x2SZero,
  ];
  const isNaN = [
    ...localGet(E), ...i32x4Const(0x7ff), ...i32x4Eq,
    ...localGet(HI), ...i32x4Const(0xfffff), ...v128And, ...localGet(LO), ...v128Or, ...i32x4Const(0), ...i32x4Ne,
    ...v128And,
  ];
  const belowNormal = [...localGet(E), ...i32x4Const(minNormal), ...i32x4LtS];
  const aboveNormal = [...localGet(E), ...i32x4Const(maxNormal), ...i32x4GtS];
  return [
    ...splitWords,
    ...normal, ...localSet(R),
    // The other ranges cost more than the normal one and are rare in weights: skipped unless a lane
    // needs them (the selects below keep the normal result in every other lane).
    ...block,
    ...belowNormal, ...aboveNormal, ...v128Or, ...v128AnyTrue, ...i32Eqz, ...brIf(0),
    ...subnormalOf(A), ...subnormalOf(B), ...i8x16Shuffle(TWO_LOW_INTS), ...localGet(R), ...belowNormal, ...v128Bitselect, ...localSet(R),
    ...i32x4Const(infinityBits(f)), ...localGet(R), ...aboveNormal, ...v128Bitselect, ...localSet(R),
    ...i32x4Const(quietNaNBits(f)), ...localGet(R), ...isNaN, ...v128Bitselect, ...localSet(R),
    ...end,
    ...localGet(R), ...localGet(HI), ...i32Const(16), ...i32x4ShrU, ...i32x4Const(0x8000), ...v128And, ...v128Or, ...localSet(R),
  ];
}

export function encodeHalfKernel(name: string, f: HalfFormat): FunctionDefinition {
  const four = [
    ...localGet(SRC), ...v128Load(0), ...localSet(A),
    ...localGet(SRC), ...v128Load(16), ...localSet(B),
    ...encodeFour(f),
    ...localGet(DST), ...localGet(R), ...localGet(R), ...i8x16Shuffle(LOW_HALVES), ...v128Store64Lane(0, 0),
  ];
  const one = [
    ...localGet(SRC), ...v128Load64Zero(0), ...localSet(A),
    ...i32x4Const(0), ...localSet(B),
    ...encodeFour(f),
    ...localGet(DST), ...localGet(R), ...i32x4ExtractLane(0), ...i32Store16(0),
  ];
  return {
    name, params: [I32, I32, I32], results: [], locals: [V128, V128, V128, V128, V128, V128],
    body: [
      ...whileAtLeast(COUNT, 4, [{ local: SRC, bytes: 32 }, { local: DST, bytes: 8 }], four),
      ...whileAtLeast(COUNT, 1, [{ local: SRC, bytes: 8 }, { local: DST, bytes: 2 }], one),
    ],
  };
}
