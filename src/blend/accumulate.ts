/**
 * The blend's inner loop: acc[e] += w_j * v_j[e] for a batch of snapshots j, one snapshot at a time
 * per element and in ascending j, so every element sees exactly the same sequence of roundings as
 * the one-snapshot-at-a-time loop (JavaScript never fuses the multiply-add). Keeping the running sum
 * in a register across up to 8 snapshots, instead of loading and storing the accumulator once per
 * snapshot, is the whole speed-up; the result is bit-identical.
 *
 * A zero weight is skipped (not multiplied), as the plain loop did, so -0 and non-finite values in
 * unused snapshots behave the same whatever the batching.
 */

/**
 * For each j < count with weights[j] !== 0, in ascending j: acc[at + e] += weights[j] * values[j][e]
 * for e < n.
 */
export function accumulateBatch(acc: Float64Array, at: number, n: number, values: readonly Float64Array[], weights: ArrayLike<number>, count: number): void {
  let j = 0;
  let allNonZero = true;
  for (let i = 0; i < count; i++) if (weights[i] === 0) allNonZero = false;
  if (!allNonZero) {
    for (; j < count; j++) if (weights[j] !== 0) accumulate1(acc, at, n, values[j], weights[j]);
    return;
  }
  for (; j + 8 <= count; j += 8) {
    accumulate8(acc, at, n, values[j], values[j + 1], values[j + 2], values[j + 3], values[j + 4], values[j + 5], values[j + 6], values[j + 7],
      weights[j], weights[j + 1], weights[j + 2], weights[j + 3], weights[j + 4], weights[j + 5], weights[j + 6], weights[j + 7]);
  }
  for (; j + 4 <= count; j += 4) accumulate4(acc, at, n, values[j], values[j + 1], values[j + 2], values[j + 3], weights[j], weights[j + 1], weights[j + 2], weights[j + 3]);
  for (; j + 2 <= count; j += 2) accumulate2(acc, at, n, values[j], values[j + 1], weights[j], weights[j + 1]);
  for (; j < count; j++) accumulate1(acc, at, n, values[j], weights[j]);
}

function accumulate8(
  acc: Float64Array, at: number, n: number,
  v0: Float64Array, v1: Float64Array, v2: Float64Array, v3: Float64Array, v4: Float64Array, v5: Float64Array, v6: Float64Array, v7: Float64Array,
  w0: number, w1: number, w2: number, w3: number, w4: number, w5: number, w6: number, w7: number,
): void {
  for (let e = 0; e < n; e++) {
    let x = acc[at + e];
    x += w0 * v0[e];
    x += w1 * v1[e];
    x += w2 * v2[e];
    x += w3 * v3[e];
    x += w4 * v4[e];
    x += w5 * v5[e];
    x += w6 * v6[e];
    x += w7 * v7[e];
    acc[at + e] = x;
  }
}

function accumulate4(acc: Float64Array, at: number, n: number, v0: Float64Array, v1: Float64Array, v2: Float64Array, v3: Float64Array, w0: number, w1: number, w2: number, w3: number): void {
  for (let e = 0; e < n; e++) {
    let x = acc[at + e];
    x += w0 * v0[e];
    x += w1 * v1[e];
    x += w2 * v2[e];
    x += w3 * v3[e];
    acc[at + e] = x;
  }
}

function accumulate2(acc: Float64Array, at: number, n: number, v0: Float64Array, v1: Float64Array, w0: number, w1: number): void {
  for (let e = 0; e < n; e++) {
    let x = acc[at + e];
    x += w0 * v0[e];
    x += w1 * v1[e];
    acc[at + e] = x;
  }
}

function accumulate1(acc: Float64Array, at: number, n: number, v0: Float64Array, w0: number): void {
  for (let e = 0; e < n; e++) acc[at + e] += w0 * v0[e];
}
