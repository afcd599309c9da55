/**
 * A counter-based random number generator we control, so that training is reproducible across
 * backends and a resumed run draws exactly the numbers an uninterrupted one would have drawn.
 *
 * Like the official loop, randomness is reseeded from (seed, images seen, purpose) for every step
 * instead of carried along: the whole "RNG state" is the key, and resuming needs nothing but the
 * run's seed and `cur_nimg`.
 *
 * Output i of a stream keyed (k0, k1) is h(h(i ^ k0) ^ k1) with h the bijective 32-bit "lowbias32"
 * integer hash (Wellons), so every stream is a different permutation of the 32-bit counter space.
 * Statistical quality is ample for noise and shuffling; it is not cryptographic.
 */

/** lowbias32: a bijection on 32-bit integers with good avalanche. */
export function hash32(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Folds a list of non-negative integers (each < 2^53) into two 32-bit key words. */
export function deriveKey(parts: readonly number[]): [number, number] {
  let a = 0x243f6a88;
  let b = 0x85a308d3;
  for (const part of parts) {
    if (!Number.isSafeInteger(part) || part < 0) {
      throw new RangeError(`rng key parts must be non-negative safe integers, got ${part}`);
    }
    const lo = part % 0x100000000;
    const hi = Math.floor(part / 0x100000000);
    a = hash32(a ^ lo);
    b = hash32(b ^ hash32(hi ^ a));
    a = hash32(a + b);
  }
  return [a, b];
}

/** Stream identifiers so that each use of randomness in a step draws from its own stream. */
export const RngStream = {
  dataOrder: 1,
  sigma: 2,
  noise: 3,
  shapes: 4,
  evalNoise: 5,
  evalSigma: 6,
  samplerNoise: 7,
  heldOut: 8,
  init: 9,
} as const;

export class CounterRng {
  private readonly k0: number;
  private readonly k1: number;
  private counter = 0;
  private spareNormal: number | undefined;

  /** `parts` are e.g. [seed, stream, cur_nimg]; equal parts give equal streams. */
  constructor(parts: readonly number[]) {
    [this.k0, this.k1] = deriveKey(parts);
  }

  nextUint32(): number {
    const i = this.counter;
    this.counter = (this.counter + 1) >>> 0;
    return hash32(hash32(i ^ this.k0) ^ this.k1);
  }

  /** Uniform in the open interval (0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo + 0.5) / 9007199254740992;
  }

  /** Integer uniform in [0, n) (n < 2^32), unbiased by rejection. */
  below(n: number): number {
    if (!(Number.isInteger(n) && n > 0 && n <= 0x100000000)) {
      throw new RangeError(`below(n) needs an integer 0 < n <= 2^32, got ${n}`);
    }
    const limit = Math.floor(0x100000000 / n) * n;
    for (;;) {
      const x = this.nextUint32();
      if (x < limit) return x % n;
    }
  }

  /** Standard normal by the Box-Muller transform (both outputs used). */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const spare = this.spareNormal;
      this.spareNormal = undefined;
      return spare;
    }
    const radius = Math.sqrt(-2 * Math.log(this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  fillNormal(target: Float32Array): Float32Array {
    for (let i = 0; i < target.length; i++) target[i] = this.normal();
    return target;
  }
}

/** A permutation of 0..n-1 (Fisher-Yates) drawn from `rng`. */
export function permutation(n: number, rng: CounterRng): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.below(i + 1);
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return order;
}
