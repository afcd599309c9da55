import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextRefinementPoint, type RefinementOptions, type RefinementPoint } from '../src/sweep/refine.js';
import { MAX_SIGMA_REL } from '../src/phema/profile.js';

/** The grid of the check: 0.02, 0.05, ..., 0.23 (0.26 is past 0.25). */
const GRID = Array.from({ length: 8 }, (_, i) => 0.02 + 0.03 * i);

/** Runs `steps` refinement steps on f; returns every point and the proposals made. */
function refine(f: (s: number) => number, steps: number, options: RefinementOptions = {}, grid = GRID) {
  const points: RefinementPoint[] = grid.map((s) => ({ sigmaRel: s, metric: f(s) }));
  const proposals: number[] = [];
  for (let k = 0; k < steps; k++) {
    const next = nextRefinementPoint(points, options);
    if (next === undefined) break;
    proposals.push(next.sigmaRel);
    points.push({ sigmaRel: next.sigmaRel, metric: f(next.sigmaRel) });
  }
  const sign = options.maximize ? -1 : 1;
  const best = points.reduce((p, q) => (sign * (q.metric ?? Infinity) < sign * (p.metric ?? Infinity) ? q : p));
  return { points, proposals, best: best.sigmaRel };
}

/** Deterministic noise (mulberry32), so the noisy tests are repeatable. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('finds the minimum of (s - 0.11)^2 within 0.002 in at most 6 steps on the issue grid', () => {
  // Truth: the closed-form minimiser 0.11. The grid already holds 0.11 (0.02 + 3 x 0.03), so also
  // check minima between grid points, where refinement has to do the work.
  for (const center of [0.11, 0.117, 0.1234, 0.093, 0.2]) {
    const { best } = refine((s) => (s - center) ** 2, 6);
    assert.ok(Math.abs(best - center) < 0.002, `center ${center}: best ${best}`);
  }
});

test('converges on asymmetric and non-quadratic minima within 8 steps', () => {
  // Truth: each function's closed-form minimiser; tolerance 0.002 (a tenth of the grid step or less).
  const cases: [string, (s: number) => number, number][] = [
    ['|s - c|^1.5', (s) => Math.abs(s - 0.093) ** 1.5, 0.093],
    ['quartic plus quadratic', (s) => 1e3 * (s - 0.131) ** 4 + (s - 0.131) ** 2, 0.131],
    ['log-scale quadratic', (s) => Math.log(s / 0.07) ** 2, 0.07],
  ];
  for (const [name, f, center] of cases) {
    const { best } = refine(f, 8);
    assert.ok(Math.abs(best - center) < 0.002, `${name}: best ${best}, want ${center}`);
  }
});

test('maximize looks for the largest metric', () => {
  const { best } = refine((s) => -((s - 0.152) ** 2), 6, { maximize: true });
  assert.ok(Math.abs(best - 0.152) < 0.002, `best ${best}`);
});

test('refines past the grid edge, staying inside the valid interval', () => {
  // Minimum beyond the last grid point 0.23, near the top of the valid range.
  const { best, proposals } = refine((s) => (s - 0.27) ** 2, 8);
  assert.ok(Math.abs(best - 0.27) < 0.002, `best ${best}`);
  assert.ok(proposals.every((s) => s > 0.2 && s < MAX_SIGMA_REL));
  const low = refine((s) => (s - 0.012) ** 2, 8, { lower: 0.005 });
  assert.ok(Math.abs(low.best - 0.012) < 0.002, `best ${low.best}`);
  assert.ok(low.proposals.every((s) => s > 0.005 && s < 0.05));
});

test('on noisy and flat functions stays in the bracket and never repeats a point', () => {
  const noise = random(7);
  const functions: [string, (s: number) => number][] = [
    ['noisy quadratic', (s) => (s - 0.11) ** 2 + 2e-4 * noise()],
    ['pure noise', () => noise()],
    ['flat', () => 1],
  ];
  for (const [name, f] of functions) {
    const values = new Map<number, number>();
    const memo = (s: number): number => values.get(s) ?? (values.set(s, f(s)), values.get(s)!);
    const gridValues = GRID.map(memo);
    const bestIndex = gridValues.indexOf(Math.min(...gridValues));
    const lo = GRID[bestIndex - 1] ?? 0;
    const hi = GRID[bestIndex + 1] ?? MAX_SIGMA_REL;
    const { points, proposals } = refine(memo, 40, { tolerance: 1e-4 });
    for (const s of proposals) assert.ok(s > lo && s < hi, `${name}: ${s} outside the bracket (${lo}, ${hi})`);
    const xs = points.map((p) => p.sigmaRel).sort((x, y) => x - y);
    for (let i = 1; i < xs.length; i++) {
      assert.ok(xs[i] - xs[i - 1] >= 1e-4 * (1 - 1e-9), `${name}: ${xs[i - 1]} and ${xs[i]} closer than tolerance`);
    }
    assert.ok(proposals.length < 40, `${name}: converged (stopped proposing) within the bracket`);
  }
});

test('failed evaluations bound the bracket but are never the best', () => {
  const points: RefinementPoint[] = [
    { sigmaRel: 0.05, metric: 3 },
    { sigmaRel: 0.08, metric: 1 },
    { sigmaRel: 0.11, metric: undefined },
    { sigmaRel: 0.14, metric: Number.NaN },
  ];
  const next = nextRefinementPoint(points);
  assert.ok(next !== undefined);
  assert.deepEqual(next.bracket, [0.05, 0.11]);
  assert.ok(next.sigmaRel > 0.05 && next.sigmaRel < 0.11 && next.sigmaRel !== 0.08);
  assert.equal(nextRefinementPoint([{ sigmaRel: 0.1, metric: undefined }]), undefined);
});

test('proposals are rounded to 6 significant digits and stop once the bracket is spent', () => {
  const next = nextRefinementPoint(GRID.map((s) => ({ sigmaRel: s, metric: (s - 0.1234567) ** 2 })));
  assert.ok(next !== undefined);
  assert.equal(next.sigmaRel, Number(next.sigmaRel.toPrecision(6)));
  const spent = [{ sigmaRel: 0.1, metric: 2 }, { sigmaRel: 0.10015, metric: 1 }, { sigmaRel: 0.1003, metric: 2 }];
  assert.equal(nextRefinementPoint(spent, { tolerance: 1e-4 }), undefined);
});

test('rejects an empty interval or a non-positive tolerance', () => {
  assert.throws(() => nextRefinementPoint([], { lower: 0.2, upper: 0.1 }), /lower < upper, got \(0.2, 0.1\)/);
  assert.throws(() => nextRefinementPoint([], { tolerance: 0 }), /tolerance must be positive, got 0/);
});
