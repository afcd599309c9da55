import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eliminateGreedily } from '../src/phema/backward-elimination.js';
import { EliminationSystem } from '../src/phema/elimination-system.js';
import { gramMatrix } from '../src/phema/inner-product.js';
import { sigmaRelToGamma } from '../src/phema/profile.js';
import { solveCoefficients } from '../src/phema/solve.js';
import { spdInverse } from '../src/phema/spd-inverse.js';
import { seededRandom } from './helpers/seeded-random.js';

const GAMMAS = [0.05, 0.1].map(sigmaRelToGamma);
const TARGETS = [0.04, 0.06, 0.08, 0.12, 0.16].map(sigmaRelToGamma);

/** `times` snapshot times of both tracked profiles, sorted by time. */
function folder(times: number): Array<{ time: number; gamma: number }> {
  return Array.from({ length: times }, (_, k) => GAMMAS.map((gamma) => ({ time: (k + 1) * 4096, gamma }))).flat();
}

test('spdInverse times the matrix is the identity (Gram matrix of 60 snapshots, equilibrated)', () => {
  const profiles = folder(30).map((p) => ({ time: p.time / 122880, gamma: p.gamma }));
  const n = profiles.length;
  const gram = gramMatrix(profiles);
  const d = Array.from({ length: n }, (_, i) => 1 / Math.sqrt(gram[i * n + i]));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) gram[i * n + j] *= d[i] * d[j];
  const inverse = spdInverse(gram, n);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += gram[i * n + k] * inverse[k * n + j];
      worst = Math.max(worst, Math.abs(sum - (i === j ? 1 : 0)));
    }
  }
  // The equilibrated matrix's condition number is ~1e9 here, so ~1e-7 is what float64 allows.
  assert.ok(worst < 1e-5, `max |A A^-1 - I| = ${worst}`);
});

test('the downdated fit errors equal a fresh solve after each of 40 random removals', () => {
  const snapshots = folder(32);
  const time = snapshots[snapshots.length - 1].time;
  const system = new EliminationSystem(snapshots, snapshots.map((_, i) => i), TARGETS, time);
  const random = seededRandom(16);
  const present = new Set(snapshots.map((_, i) => i));
  let worst = 0;
  for (let step = 0; step < 40; step++) {
    const removable = [...present].filter((i) => snapshots[i].time < time);
    const index = removable[Math.floor(random() * removable.length)];
    const predicted = TARGETS.map((_, j) => system.errorWithout(index, j));
    system.remove(index);
    present.delete(index);
    const exact = solveCoefficients([...present].map((i) => snapshots[i]), TARGETS, time).fitErrors;
    TARGETS.forEach((_, j) => {
      worst = Math.max(worst, Math.abs(system.error(j) - exact[j]), Math.abs(predicted[j] - exact[j]));
    });
  }
  assert.ok(worst < 1e-7, `largest difference from the fresh solve: ${worst}`);
});

test('N = 10: the greedy choice of 4 removals against the best of all 70 subsets (ratio reported)', (t) => {
  const snapshots = folder(5);
  const time = snapshots[snapshots.length - 1].time;
  const worstError = (kept: number[]): number => Math.max(...solveCoefficients(kept.map((i) => snapshots[i]), TARGETS, time).fitErrors);
  const steps = eliminateGreedily({
    snapshots, targetGammas: TARGETS, times: [time],
    removable: snapshots.map((s) => s.time < time),
    allowance: [TARGETS.map(() => 1)], maxScore: Number.POSITIVE_INFINITY,
    enough: (removed) => removed.length >= 4,
  });
  assert.equal(steps.length, 4);
  const greedy = worstError(snapshots.map((_, i) => i).filter((i) => !steps.some((s) => s.index === i)));
  // Exhaustive: every way to remove 4 of the 8 snapshots before the latest time.
  let best = Number.POSITIVE_INFINITY;
  let subsets = 0;
  for (let mask = 0; mask < 256; mask++) {
    if (popcount(mask) !== 4) continue;
    subsets++;
    best = Math.min(best, worstError(snapshots.map((_, i) => i).filter((i) => i >= 8 || (mask & (1 << i)) === 0)));
  }
  assert.equal(subsets, 70);
  const ratio = greedy / best;
  t.diagnostic(`greedy worst fit error ${(greedy * 100).toFixed(4)}%, best subset ${(best * 100).toFixed(4)}%, ratio ${ratio.toFixed(4)}`);
  assert.ok(ratio >= 1 - 1e-9, 'the exhaustive search includes the greedy choice, so it cannot be worse');
  assert.ok(ratio < 1.5, `greedy is far from the best subset: ratio ${ratio}`);
});

test('a bound on the rise: the greedy stops before any target exceeds it', () => {
  const snapshots = folder(12);
  const time = snapshots[snapshots.length - 1].time;
  const before = solveCoefficients(snapshots, TARGETS, time).fitErrors;
  const steps = eliminateGreedily({
    snapshots, targetGammas: TARGETS, times: [time],
    removable: snapshots.map((s) => s.time < time),
    allowance: [TARGETS.map(() => 0.002)], maxScore: 1, enough: () => false,
  });
  assert.ok(steps.length > 0 && steps.length < 22, `${steps.length} removals`);
  const gone = new Set(steps.map((s) => s.index));
  const after = solveCoefficients(snapshots.filter((_, i) => !gone.has(i)), TARGETS, time).fitErrors;
  after.forEach((e, j) => assert.ok(e <= before[j] + 0.002 + 1e-9, `target ${j}: ${before[j]} -> ${e}`));
  // One more removal of any remaining candidate would break the bound (that is why it stopped).
  const candidates = snapshots.map((_, i) => i).filter((i) => !gone.has(i) && snapshots[i].time < time);
  for (const extra of candidates) {
    const errors = solveCoefficients(snapshots.filter((_, i) => !gone.has(i) && i !== extra), TARGETS, time).fitErrors;
    assert.ok(errors.some((e, j) => e > before[j] + 0.002 - 1e-9), `removing ${extra} as well would still keep the bound`);
  }
});

test('N = 10 under a bound of 1pp: greedy removes as many as the best subset allows, or says how many fewer', (t) => {
  const snapshots = folder(5);
  const time = snapshots[snapshots.length - 1].time;
  const before = solveCoefficients(snapshots, TARGETS, time).fitErrors;
  const fits = (kept: number[]): boolean => solveCoefficients(kept.map((i) => snapshots[i]), TARGETS, time).fitErrors.every((e, j) => e <= before[j] + 0.01);
  const steps = eliminateGreedily({
    snapshots, targetGammas: TARGETS, times: [time], removable: snapshots.map((s) => s.time < time),
    allowance: [TARGETS.map(() => 0.01)], maxScore: 1, enough: () => false,
  });
  let most = 0;
  for (let mask = 0; mask < 256; mask++) {
    if (popcount(mask) > most && fits(snapshots.map((_, i) => i).filter((i) => i >= 8 || (mask & (1 << i)) === 0))) most = popcount(mask);
  }
  t.diagnostic(`greedy removes ${steps.length}, the best subset within the bound removes ${most}`);
  assert.ok(steps.length <= most && steps.length >= most - 1, `greedy ${steps.length}, best ${most}`);
});

function popcount(x: number): number {
  let count = 0;
  for (let v = x; v; v &= v - 1) count++;
  return count;
}
