import { MAX_SIGMA_REL } from '../phema/profile.js';
import { roundSigmaRel } from './sigma-rel-key.js';

/**
 * `--refine N`: where to evaluate next, given every point evaluated so far. Stateless (the points
 * are the whole state), so a resumed sweep continues exactly where it stopped, and pure.
 *
 * The bracket is the best point b and its nearest evaluated neighbours a < b < c (or the valid
 * interval's ends when b is the outermost point). Each step is Brent-like:
 * - when one side of the bracket is more than LOPSIDED times the other, a golden-section step into
 *   the long side (this is what keeps shrinking the bracket once parabolic steps hug b);
 * - otherwise the vertex of the parabola through (a, b, c) when it is safe: a minimum, inside the
 *   bracket, at most half the length of its side away from b (nudged to `tolerance` from b when
 *   closer than that, as Brent does);
 * - otherwise a golden-section step into the longer side.
 * Any proposal closer than `tolerance` to an evaluated point or to the interval's ends is skipped
 * for the next candidate; when none is left the search has converged and the answer is undefined.
 * A failed evaluation counts as the worst value: it can bound the bracket but never be best.
 */

export interface RefinementPoint {
  readonly sigmaRel: number;
  /** undefined or non-finite: the evaluation failed. */
  readonly metric: number | undefined;
}

export interface RefinementOptions {
  readonly maximize?: boolean;
  /** Open interval proposals must stay inside; default (0, MAX_SIGMA_REL). */
  readonly lower?: number;
  readonly upper?: number;
  /** Smallest spacing worth an evaluation, in sigma_rel; default 1e-4. */
  readonly tolerance?: number;
}

export interface RefinementProposal {
  /** Rounded with roundSigmaRel, so it is its own stable key. */
  readonly sigmaRel: number;
  readonly method: 'parabolic' | 'golden';
  /** The bracket [a, c] the proposal lies in. */
  readonly bracket: readonly [number, number];
}

const GOLDEN = (3 - Math.sqrt(5)) / 2; // 0.381966...: the golden-section fraction
const LOPSIDED = 3;

interface Sample {
  readonly x: number;
  /** Lower is better; +Infinity for failures. */
  readonly v: number;
}

export function nextRefinementPoint(
  points: readonly RefinementPoint[],
  options: RefinementOptions = {},
): RefinementProposal | undefined {
  const lower = options.lower ?? 0;
  const upper = options.upper ?? MAX_SIGMA_REL;
  const tolerance = options.tolerance ?? 1e-4;
  if (!(lower < upper)) throw new RangeError(`refinement interval must have lower < upper, got (${lower}, ${upper})`);
  if (!(tolerance > 0)) throw new RangeError(`refinement tolerance must be positive, got ${tolerance}`);

  const samples = toSamples(points, options.maximize ?? false);
  let best = -1;
  samples.forEach((s, i) => { if (Number.isFinite(s.v) && (best < 0 || s.v < samples[best].v)) best = i; });
  if (best < 0) return undefined; // nothing succeeded: no basis to refine on

  const b = samples[best].x;
  const left = samples[best - 1];
  const right = samples[best + 1];
  const a = Math.max(left?.x ?? lower, lower);
  const c = Math.min(right?.x ?? upper, upper);
  const longRight = c - b >= b - a;
  const longSide = longRight ? c - b : b - a;
  const shortSide = longRight ? b - a : c - b;

  const candidates: { x: number; method: RefinementProposal['method'] }[] = [];
  if (longSide <= LOPSIDED * shortSide && left !== undefined && right !== undefined) {
    const u = parabolicVertex(left, samples[best], right);
    if (u !== undefined) candidates.push({ x: u, method: 'parabolic' });
  }
  candidates.push({ x: longRight ? b + GOLDEN * (c - b) : b - GOLDEN * (b - a), method: 'golden' });
  candidates.push({ x: longRight ? b - GOLDEN * (b - a) : b + GOLDEN * (c - b), method: 'golden' });

  const farEnough = (x: number, y: number): boolean => Math.abs(x - y) >= tolerance * (1 - 1e-9);
  for (const candidate of candidates) {
    const x = roundSigmaRel(candidate.x);
    const inside = x > a && x < c && x > lower && x < upper;
    if (inside && farEnough(x, a) && farEnough(x, b) && farEnough(x, c) && farEnough(x, lower) && farEnough(x, upper)) {
      return { sigmaRel: x, method: candidate.method, bracket: [a, c] };
    }
  }
  return undefined;

  /**
   * Vertex of the parabola through the three samples when it is a minimum, lies within half the
   * length of its side from b, and is not nudged outside; undefined when unsafe.
   */
  function parabolicVertex(p: Sample, q: Sample, r: Sample): number | undefined {
    if (!Number.isFinite(p.v) || !Number.isFinite(r.v)) return undefined;
    const left = (q.x - p.x) * (q.v - r.v);
    const right = (q.x - r.x) * (q.v - p.v);
    const denominator = 2 * (left - right);
    // q is best, so the parabola opens upwards unless all three values are equal (denominator 0).
    if (!(denominator < 0 || denominator > 0)) return undefined;
    let step = -((q.x - p.x) * left - (q.x - r.x) * right) / denominator;
    if (!Number.isFinite(step)) return undefined;
    const side = step >= 0 ? r.x - q.x : q.x - p.x;
    if (Math.abs(step) > 0.5 * side) return undefined;
    if (Math.abs(step) < tolerance) step = (step > 0 || (step === 0 && longRight) ? 1 : -1) * tolerance;
    return q.x + step;
  }
}

/** Sorted by sigma_rel, one sample per rounded sigma_rel (the better value wins). */
function toSamples(points: readonly RefinementPoint[], maximize: boolean): Sample[] {
  const byX = new Map<number, number>();
  for (const point of points) {
    const x = roundSigmaRel(point.sigmaRel);
    const m = point.metric;
    const v = m !== undefined && Number.isFinite(m) ? (maximize ? -m : m) : Infinity;
    byX.set(x, Math.min(byX.get(x) ?? Infinity, v));
  }
  return [...byX].map(([x, v]) => ({ x, v })).sort((p, q) => p.x - q.x);
}
