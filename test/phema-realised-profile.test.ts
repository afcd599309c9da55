import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { realisedBasis, realisedWidth, updatesAfter } from '../src/phema/realised-profile.js';
import { powerBasis } from '../src/phema/snapshot-basis.js';
import { sigmaRelToGamma } from '../src/phema/profile.js';
import { emaPytorchRealisedWeights } from '../src/pytorch/ema-pytorch-sparse.js';

// Second method: the per-step weights of the update rule itself (from the PyTorch re-implementation's
// fixture JSON, and from src/pytorch/ema-pytorch-sparse.ts), each update's weight spread over its
// segment, integrated segment by segment with closed forms written out here.
const fixture = JSON.parse(readFileSync(new URL('../fixtures/pytorch/ema-pytorch-expected.json', import.meta.url), 'utf8'));

/** Per-update weights (segment order) from per-step weights: update j ran at call 1 + (j - 1) k. */
function segmentWeights(stepWeights: ArrayLike<number>, every: number, calls: number): number[] {
  return Array.from({ length: updatesAfter(calls, every) }, (_, j) => stepWeights[j * every]);
}

/**
 * Steps that update j (from 1) stands for, written out here rather than taken from the module: from
 * its call 1 + (j - 1) k (from 0 for the first) to the next update, or to the snapshot's time.
 */
function segment(j: number, every: number, calls: number): [number, number] {
  return [j === 1 ? 0 : 1 + (j - 1) * every, Math.min(1 + j * every, calls + 1)];
}

function relative(a: number, b: number): number {
  return Math.abs(a - b) / Math.abs(b);
}

test('realised cross products equal the update rule\'s weights integrated against power, exponential and window targets', () => {
  const sparse = fixture.realised.find((r: { update_every: number }) => r.update_every === 10);
  const { gamma, update_every: every } = sparse;
  // The fixture's run (PyTorch re-implementation), and one whose last update's segment is cut short.
  for (const [calls, stepWeights] of [[sparse.steps, sparse.weights], [995, emaPytorchRealisedWeights(gamma, every, 995)]] as const) {
    checkCross(gamma, every, calls, segmentWeights(stepWeights, every, calls), 1001);
  }
});

function checkCross(gamma: number, every: number, calls: number, weights: number[], targetTime: number): void {
  const targets = [{ kind: 'power', gamma: 6.94 }, { kind: 'exponential', rate: 9 }, { kind: 'window', width: 0.25 }] as const;
  const mass = [
    (a: number, b: number) => b ** 7.94 - a ** 7.94,
    (a: number, b: number) => (Math.exp(-9 * (1 - b)) - Math.exp(-9 * (1 - a))) / (1 - Math.exp(-9)),
    (a: number, b: number) => Math.max(0, Math.min(b, 1) - Math.max(a, 0.75)) / 0.25,
  ];
  const basis = realisedBasis([{ gamma, calls }], every, targetTime);
  const cross = basis.cross(targets)[0];
  targets.forEach((target, c) => {
    let expected = 0;
    weights.forEach((w, j) => {
      const [a, b] = segment(j + 1, every, calls).map((x) => x / targetTime);
      expected += (w / (b - a)) * mass[c](a, b);
    });
    assert.ok(relative(cross[c], expected) < 1e-12, `${target.kind} after ${calls} calls: ${cross[c]} vs ${expected}`);
  });
}

test('realised Gram matrix equals overlaps of the update rule\'s weights, for mixed gammas and times', () => {
  const every = 7;
  const gammas = [sigmaRelToGamma(0.05), sigmaRelToGamma(0.1)];
  const snapshots = [300, 451, 452, 700].flatMap((calls) => gammas.map((gamma) => ({ gamma, calls })));
  const targetTime = 701;
  const gram = realisedBasis(snapshots, every, targetTime).gram();
  const n = snapshots.length;
  const densities = snapshots.map((s) => segmentWeights(emaPytorchRealisedWeights(s.gamma, every, s.calls), every, s.calls));
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      let expected = 0;
      for (let j = 0; j < Math.min(densities[i].length, densities[k].length); j++) {
        const [a, bi] = segment(j + 1, every, snapshots[i].calls).map((x) => x / targetTime);
        const bk = segment(j + 1, every, snapshots[k].calls)[1] / targetTime;
        expected += ((densities[i][j] / (bi - a)) * (densities[k][j] / (bk - a))) * (Math.min(bi, bk) - a);
      }
      assert.ok(relative(gram[i * n + k], expected) < 1e-12, `A[${i}][${k}] = ${gram[i * n + k]} vs ${expected}`);
      assert.equal(gram[i * n + k], gram[k * n + i]);
    }
  }
});

test('realised width: the update rule\'s weights\' spread; far wider than nominal for sparse updates', () => {
  const sparse = fixture.realised.find((r: { update_every: number }) => r.update_every === 10);
  const { gamma, steps: calls, update_every: every } = sparse;
  const weights = segmentWeights(sparse.weights, every, calls);
  let m0 = 0;
  let m1 = 0;
  let m2 = 0;
  weights.forEach((w, j) => {
    const [a, b] = segment(j + 1, every, calls).map((x) => x / (calls + 1));
    m0 += w;
    m1 += (w * (a + b)) / 2;
    m2 += (w * (a * a + a * b + b * b)) / 3;
  });
  const expected = Math.sqrt(m2 / m0 - (m1 / m0) ** 2);
  const width = realisedWidth(gamma, calls, every);
  assert.ok(relative(width, expected) < 1e-10, `${width} vs ${expected}`);
  assert.ok(width > 2 * sparse.sigma_rel, `nominal ${sparse.sigma_rel} realises ${width}`);
});

test('with one update per step the realised profile approaches the nominal one as steps grow', () => {
  const gamma = sigmaRelToGamma(0.1);
  assert.ok(Math.abs(realisedWidth(gamma, 100000, 1) - 0.1) < 1e-4);
  const target = [{ kind: 'power', gamma: sigmaRelToGamma(0.08) }] as const;
  const realised = realisedBasis([{ gamma, calls: 99999 }], 1, 100000).cross(target)[0][0];
  const nominal = powerBasis([{ time: 1, gamma }]).cross(target)[0][0];
  assert.ok(relative(realised, nominal) < 1e-3, `${realised} vs ${nominal}`);
});
