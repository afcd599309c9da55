/**
 * The weight side of MPConv (MPUNET.md 1.6) computed in plain JS once per step instead of as tfjs ops:
 *   W_hat = gain * W / (sqrt(F) * (eps + ||W||/sqrt(F)))   per output channel (F = fan-in),
 * and its chain rule back to W and gain. The tensors are tiny (0.4 M values in all) but the op-by-op
 * version costs about 25 tfjs kernels per weight per step, which dominated the step time on wasm.
 * Layout: output channel last (conv HWIO, linear [in, out]), so row o is the stride-`out` slice.
 */
import { ParamSpec } from './architecture.js';
import { NORMALIZE_EPS } from './mp-ops.js';

export interface WeightRows {
  /** Per output channel: ||W_o|| and s_o = eps + ||W_o||/sqrt(F). */
  norms: Float64Array;
  denoms: Float64Array;
  fanIn: number;
  out: number;
}

export function rowStats(w: Float32Array, out: number): WeightRows {
  const fanIn = w.length / out;
  const sq = new Float64Array(out);
  // Row-major with the output channel last: walk rows of `out` values (no per-element modulo).
  for (let base = 0; base < w.length; base += out) {
    for (let o = 0; o < out; o++) sq[o] += w[base + o] * w[base + o];
  }
  const norms = new Float64Array(out);
  const denoms = new Float64Array(out);
  const root = Math.sqrt(fanIn);
  for (let o = 0; o < out; o++) {
    norms[o] = Math.sqrt(sq[o]);
    denoms[o] = NORMALIZE_EPS + norms[o] / root;
  }
  return { norms, denoms, fanIn, out };
}

/** normalize(W) per output channel: forced weight normalisation (gain 1, no 1/sqrt(F)). */
export function normalizedRows(w: Float32Array, out: number): Float32Array {
  const { denoms } = rowStats(w, out);
  const result = new Float32Array(w.length);
  for (let base = 0; base < w.length; base += out) {
    for (let o = 0; o < out; o++) result[base + o] = w[base + o] / denoms[o];
  }
  return result;
}

/** W_hat = normalize(W) * gain / sqrt(F). */
export function effectiveRows(w: Float32Array, rows: WeightRows, gain: number): Float32Array {
  const { out, denoms } = rows;
  const factor = new Float64Array(out);
  for (let o = 0; o < out; o++) factor[o] = gain / Math.sqrt(rows.fanIn) / denoms[o];
  const result = new Float32Array(w.length);
  for (let base = 0; base < w.length; base += out) {
    for (let o = 0; o < out; o++) result[base + o] = w[base + o] * factor[o];
  }
  return result;
}

/**
 * Given dL/dW_hat, returns dL/dW and dL/dgain:
 *   dW_i = c (dWh_i - W_i (dWh . W)/(s ||W|| sqrt(F))),  c = gain/(sqrt(F) s)
 *   dgain = sum over rows of (dWh . W)/(sqrt(F) s).
 */
export function effectiveRowsBackward(
  w: Float32Array, rows: WeightRows, gain: number, dHat: Float32Array,
): { dW: Float32Array; dGain: number } {
  const { out, fanIn, norms, denoms } = rows;
  const root = Math.sqrt(fanIn);
  const dots = new Float64Array(out);
  for (let base = 0; base < w.length; base += out) {
    for (let o = 0; o < out; o++) dots[o] += dHat[base + o] * w[base + o];
  }
  const scale = new Float64Array(out);
  const radial = new Float64Array(out);
  let dGain = 0;
  for (let o = 0; o < out; o++) {
    scale[o] = gain / (root * denoms[o]);
    // A zero row has no direction; autodiff would give NaN, we give the plain scaled gradient.
    radial[o] = norms[o] > 0 ? dots[o] / (denoms[o] * norms[o] * root) : 0;
    dGain += dots[o] / (root * denoms[o]);
  }
  const dW = new Float32Array(w.length);
  for (let base = 0; base < w.length; base += out) {
    for (let o = 0; o < out; o++) dW[base + o] = scale[o] * (dHat[base + o] - w[base + o] * radial[o]);
  }
  return { dW, dGain };
}

export function outputChannels(spec: ParamSpec): number {
  return spec.internalShape[spec.internalShape.length - 1];
}
