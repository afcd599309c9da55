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
  if (hasZero(weights, count)) {
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

/**
 * Two targets over the same full batch of 8 snapshots: each snapshot value is loaded once for both,
 * and the two independent running sums keep the floating-point units busy. Same per-element
 * sequence of operations as accumulateBatch for each target.
 */
export function accumulatePair(a: Float64Array, b: Float64Array, at: number, n: number, values: readonly Float64Array[], wa: Float64Array, wb: Float64Array, count: number): void {
  if (count !== 8 || hasZero(wa, count) || hasZero(wb, count)) {
    accumulateBatch(a, at, n, values, wa, count);
    accumulateBatch(b, at, n, values, wb, count);
    return;
  }
  const [v0, v1, v2, v3, v4, v5, v6, v7] = values;
  const a0 = wa[0], a1 = wa[1], a2 = wa[2], a3 = wa[3], a4 = wa[4], a5 = wa[5], a6 = wa[6], a7 = wa[7];
  const b0 = wb[0], b1 = wb[1], b2 = wb[2], b3 = wb[3], b4 = wb[4], b5 = wb[5], b6 = wb[6], b7 = wb[7];
  for (let e = 0; e < n; e++) {
    let x = a[at + e];
    let y = b[at + e];
    let t = v0[e];
    x += a0 * t; y += b0 * t; t = v1[e];
    x += a1 * t; y += b1 * t; t = v2[e];
    x += a2 * t; y += b2 * t; t = v3[e];
    x += a3 * t; y += b3 * t; t = v4[e];
    x += a4 * t; y += b4 * t; t = v5[e];
    x += a5 * t; y += b5 * t; t = v6[e];
    x += a6 * t; y += b6 * t; t = v7[e];
    x += a7 * t; y += b7 * t;
    a[at + e] = x;
    b[at + e] = y;
  }
}

function hasZero(weights: ArrayLike<number>, count: number): boolean {
  for (let i = 0; i < count; i++) if (weights[i] === 0) return true;
  return false;
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
