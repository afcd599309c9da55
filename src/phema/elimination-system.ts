/**
 * The least-squares fit at one time, kept up to date while snapshots are removed one by one
 * (MATH.md "Reconstruction"; used by backward-elimination.ts).
 *
 * With Gram matrix G, cross products b_j and c_j = <r_j, r_j>, the solve's normalised blend
 * x = G^-1 b_j / s_j with s_j = 1^T G^-1 b_j has fit error^2 = (q_j / s_j^2 - 2 q_j / s_j + c_j) / c_j,
 * q_j = b_j^T G^-1 b_j. Removing snapshot k changes any u^T G^-1 v to u^T H v - (Hu)_k (Hv)_k / H_kk
 * (H = G^-1; Schur complement), so with z_j = H b_j and y = H 1 kept:
 *   q_j' = q_j - z_kj^2 / H_kk,   s_j' = s_j - y_k z_kj / H_kk,
 * which scores a removal in O(1) per target, and H, z, y are downdated in O(n^2) once one is chosen.
 * G is equilibrated (D G D, D = diag(G)^-1/2) as in solve.ts; the formulas hold for the scaled
 * system with b -> D b and 1 -> D 1. Rank-one downdates accumulate rounding, so the system is
 * rebuilt from a fresh factorisation whenever it has halved.
 */
import { crossMatrix, gramMatrix, profileSelfInnerProduct, type Profile } from './inner-product.js';
import { spdInverse } from './spd-inverse.js';

const REBUILD_FRACTION = 0.5;

export class EliminationSystem {
  readonly time: number;
  private readonly gammas: readonly number[];
  private readonly all: readonly Profile[];
  /** Global snapshot indices in this system, in local order. */
  members: number[] = [];
  /** Local index of each global snapshot, -1 when absent. */
  private readonly local: Int32Array;
  private h: Float64Array = new Float64Array(0);
  private spare: Float64Array = new Float64Array(0);
  private z: Float64Array = new Float64Array(0);
  private y: Float64Array = new Float64Array(0);
  private readonly q: Float64Array;
  private readonly s: Float64Array;
  private readonly c: Float64Array;
  private builtAt = 0;

  constructor(all: readonly Profile[], members: readonly number[], targetGammas: readonly number[], time: number) {
    this.all = all;
    this.gammas = targetGammas;
    this.time = time;
    this.local = new Int32Array(all.length).fill(-1);
    this.q = new Float64Array(targetGammas.length);
    this.s = new Float64Array(targetGammas.length);
    this.c = Float64Array.from(targetGammas, (gamma) => profileSelfInnerProduct({ time: 1, gamma }));
    this.build([...members]);
  }

  contains(index: number): boolean {
    return this.local[index] >= 0;
  }

  /** Current fit error of target j. */
  error(j: number): number {
    return fitError(this.q[j], this.s[j], this.c[j]);
  }

  /** Fit error of target j if snapshot `index` (a member) were removed. */
  errorWithout(index: number, j: number): number {
    const m = this.members.length;
    if (m <= 1) return Number.POSITIVE_INFINITY;
    const k = this.local[index];
    const hkk = this.h[k * m + k];
    if (!(hkk > 0)) return Number.POSITIVE_INFINITY;
    const zk = this.z[k * this.gammas.length + j];
    return fitError(this.q[j] - (zk * zk) / hkk, this.s[j] - (this.y[k] * zk) / hkk, this.c[j]);
  }

  remove(index: number): void {
    const k = this.local[index];
    const rest = this.members.filter((member) => member !== index);
    if (rest.length < REBUILD_FRACTION * this.builtAt) {
      this.local[index] = -1;
      this.build(rest);
      return;
    }
    const m = this.members.length;
    const targets = this.gammas.length;
    const hkk = this.h[k * m + k];
    const column = new Float64Array(m);
    // Only the lower triangle of H is kept up to date (it is symmetric): H_ik is at row max(i, k).
    for (let i = 0; i < m; i++) column[i] = i >= k ? this.h[i * m + k] : this.h[k * m + i];
    for (let j = 0; j < targets; j++) {
      const zk = this.z[k * targets + j];
      this.q[j] -= (zk * zk) / hkk;
      this.s[j] -= (this.y[k] * zk) / hkk;
    }
    // Written into the spare buffer (the two swap at every removal), lower triangle only, around row/column k.
    const h = this.spare.subarray(0, (m - 1) * (m - 1));
    const z = new Float64Array((m - 1) * targets);
    const y = new Float64Array(m - 1);
    for (let i = 0, a = 0; i < m; i++) {
      if (i === k) continue;
      const factor = column[i] / hkk;
      const from = i * m;
      const to = a * (m - 1);
      const before = Math.min(k, i + 1);
      for (let l = 0; l < before; l++) h[to + l] = this.h[from + l] - factor * column[l];
      for (let l = k + 1; l <= i; l++) h[to + l - 1] = this.h[from + l] - factor * column[l];
      for (let j = 0; j < targets; j++) z[a * targets + j] = this.z[i * targets + j] - factor * this.z[k * targets + j];
      y[a] = this.y[i] - factor * this.y[k];
      a++;
    }
    this.spare = new Float64Array(this.h.buffer, this.h.byteOffset, this.h.length);
    [this.h, this.z, this.y] = [h, z, y];
    this.local[index] = -1;
    this.members = rest;
    rest.forEach((member, i) => { this.local[member] = i; });
  }

  private build(members: number[]): void {
    const m = members.length;
    const targets = this.gammas.length;
    this.members = members;
    members.forEach((member, i) => { this.local[member] = i; });
    this.builtAt = m;
    // Time in units of the evaluation time, as solve.ts does: entries stay near 1.
    const scaled = members.map((i) => ({ time: this.all[i].time / this.time, gamma: this.all[i].gamma }));
    const gram = gramMatrix(scaled);
    const cross = crossMatrix(scaled, this.gammas.map((gamma) => ({ time: 1, gamma })));
    const d = Float64Array.from({ length: m }, (_, i) => 1 / Math.sqrt(gram[i * m + i]));
    for (let i = 0; i < m; i++) for (let l = 0; l < m; l++) gram[i * m + l] *= d[i] * d[l];
    this.h = spdInverse(gram, m);
    this.spare = new Float64Array(m * m);
    this.z = new Float64Array(m * targets);
    this.y = new Float64Array(m);
    this.q.fill(0);
    this.s.fill(0);
    const scaledCross = new Float64Array(m * targets);
    for (let l = 0; l < m; l++) for (let j = 0; j < targets; j++) scaledCross[l * targets + j] = cross[l][j] * d[l];
    for (let i = 0; i < m; i++) {
      const row = i * m;
      const zi = i * targets;
      for (let l = 0; l < m; l++) {
        const hil = this.h[row + l];
        this.y[i] += hil * d[l];
        const bl = l * targets;
        for (let j = 0; j < targets; j++) this.z[zi + j] += hil * scaledCross[bl + j];
      }
    }
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < targets; j++) {
        this.q[j] += cross[i][j] * d[i] * this.z[i * targets + j];
        this.s[j] += d[i] * this.z[i * targets + j];
      }
    }
  }
}

function fitError(q: number, s: number, c: number): number {
  if (!(s !== 0) || !Number.isFinite(s) || !Number.isFinite(q)) return Number.POSITIVE_INFINITY;
  return Math.sqrt(Math.max(0, (q / (s * s) - (2 * q) / s + c) / c));
}
