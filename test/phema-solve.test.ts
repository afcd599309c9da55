import { test } from 'node:test';
import assert from 'node:assert/strict';
import { solveCoefficients } from '../src/phema/solve.js';
import { sigmaRelToGamma } from '../src/phema/profile.js';
import { NumericalError } from '../src/errors.js';
import { reference } from './helpers/reference.js';

// Source of truth: the scenarios of test/reference/phema-reference.json, solved by the official
// implementation with numpy float64 (X, condition numbers) and mpmath (fit errors).

interface Scenario {
  name: string; in_nimg: number[]; in_exp: number[]; out_nimg: number; out_exp: number[]; out_std: number[];
  X: number[][]; X_raw_column_sums: number[]; X_sum_abs: number[]; cond_A_2norm: number; fit_rel_l2_err: number[];
}

function solveScenario(s: Scenario) {
  const snapshots = s.in_nimg.map((time, i) => ({ time, gamma: s.in_exp[i] }));
  return solveCoefficients(snapshots, s.out_exp, s.out_nimg);
}

for (const s of reference.scenarios as Scenario[]) {
  // Rounding in the solve grows with the condition number: allow 1e-16 * cond, but never less than 1e-13.
  const tolerance = Math.max(1e-13, 1e-16 * s.cond_A_2norm);
  test(`reproduces the official coefficients for ${s.name} (cond ${s.cond_A_2norm.toPrecision(3)}, tolerance ${tolerance.toExponential(0)} of each column's largest)`, () => {
    const solution = solveScenario(s);
    s.out_exp.forEach((_, j) => {
      const column = s.X.map((row) => row[j]);
      const scale = Math.max(...column.map(Math.abs));
      column.forEach((expected, i) => {
        const actual = solution.coefficients[i][j];
        assert.ok(Math.abs(actual - expected) <= tolerance * scale, `X[${i}][${j}] = ${actual}, expected ${expected}`);
      });
      const sum = solution.coefficients.reduce((acc, row) => acc + row[j], 0);
      assert.ok(Math.abs(sum - 1) < 1e-12, `column ${j} sums to ${sum}`);
      assert.ok(Math.abs(solution.rawColumnSums[j] - s.X_raw_column_sums[j]) <= 1e3 * tolerance * Math.abs(s.X_raw_column_sums[j]));
      assert.ok(Math.abs(solution.sumAbsCoefficients[j] - s.X_sum_abs[j]) <= tolerance * s.X_sum_abs[j] * 10);
    });
  });

  test(`fit errors and condition number match the reference for ${s.name}`, () => {
    const solution = solveScenario(s);
    // Fit errors: mpmath reference; float64 cancellation limits us to about 1e-8 absolute.
    solution.fitErrors.forEach((err, j) => {
      assert.ok(Math.abs(err - s.fit_rel_l2_err[j]) <= 1e-7 + 1e-9 * s.fit_rel_l2_err[j], `target ${j}: ${err} vs ${s.fit_rel_l2_err[j]}`);
    });
    assert.ok(Math.abs(solution.condition - s.cond_A_2norm) <= 1e-8 * s.cond_A_2norm, `${solution.condition}`);
  });
}

test('every target of a multi-target solve equals its own single-target solve', () => {
  const s = reference.scenarios.find((x: Scenario) => x.name === 'edm2_2std_N16_last') as Scenario;
  const together = solveScenario(s);
  s.out_exp.forEach((gamma, j) => {
    const alone = solveCoefficients(s.in_nimg.map((time, i) => ({ time, gamma: s.in_exp[i] })), [gamma], s.out_nimg);
    together.coefficients.forEach((row, i) => assert.equal(row[j], alone.coefficients[i][0]));
    assert.equal(together.fitErrors[j], alone.fitErrors[0]);
  });
});

test('the solution does not depend on the time unit', () => {
  // Reference: scale_invariance in the reference file reports max |dX| = 0 for rescaled times.
  const s = reference.scenarios.find((x: Scenario) => x.name === 'uneven_schedule') as Scenario;
  const images = solveScenario(s);
  const steps = solveCoefficients(s.in_nimg.map((time, i) => ({ time: time / 2048, gamma: s.in_exp[i] })), s.out_exp, s.out_nimg / 2048);
  images.coefficients.forEach((row, i) => row.forEach((x, j) => assert.ok(Math.abs(x - steps.coefficients[i][j]) <= 1e-13 * Math.max(1, Math.abs(x)))));
});

test('two snapshots with the same time and profile are named as the cause of a singular system', () => {
  const g05 = sigmaRelToGamma(0.05);
  const snapshots = [{ time: 8388608, gamma: g05 }, { time: 8388608, gamma: g05 }, { time: 8388608, gamma: sigmaRelToGamma(0.1) }];
  assert.throws(() => solveCoefficients(snapshots, [sigmaRelToGamma(0.08)], 8388608), (e: unknown) =>
    e instanceof NumericalError && /snapshots 0 and 1 have the same time \(8388608\)/.test(e.message));
});

test('snapshots at time 0 or after the target time are refused, never silently used', () => {
  const g = sigmaRelToGamma(0.05);
  assert.throws(() => solveCoefficients([{ time: 0, gamma: g }, { time: 10, gamma: g }], [g], 10), NumericalError);
  assert.throws(() => solveCoefficients([{ time: 5, gamma: g }, { time: 20, gamma: g }], [g], 10), NumericalError);
  assert.throws(() => solveCoefficients([], [g], 10), NumericalError);
});

test('nearly equal profiles (0.050 and 0.051) still solve, as in the official edge case', () => {
  const edge = reference.conditioning.singular_edge_cases.find((c: { label: string }) => c.label.startsWith('nearly equal'));
  const solution = solveCoefficients(
    edge.in_nimg.map((time: number, i: number) => ({ time, gamma: sigmaRelToGamma(edge.in_std[i]) })),
    edge.out_std.map(sigmaRelToGamma), Math.max(...edge.in_nimg));
  solution.fitErrors.forEach((err, j) => assert.ok(Math.abs(err - edge.fit_rel_l2_err_f64[j]) <= 1e-6, `${err}`));
  const maxAbs = Math.max(...solution.coefficients.flat().map(Math.abs));
  assert.ok(Math.abs(maxAbs - edge.X_max_abs) <= 1e-6 * edge.X_max_abs, `${maxAbs} vs ${edge.X_max_abs}`);
});

test('large systems: coefficients, fit errors and the condition estimate match the reference (N = 256 per profile; 1024 with EMA_SYNTH_SLOW_TESTS=1)', () => {
  // Reference: conditioning.rows (numpy solve and SVD condition number, mpmath fit errors). Beyond
  // 200 snapshots the condition number is estimated (power and inverse iteration), to 1e-6 here.
  const sizes = process.env.EMA_SYNTH_SLOW_TESTS ? [256, 1024] : [256];
  for (const row of reference.conditioning.rows) {
    if (row.stds.length !== 2 || !sizes.includes(row.N_per_std)) continue;
    const snapshots = [];
    for (let k = 1; k <= row.N_per_std; k++) for (const s of row.stds) snapshots.push({ time: k * 2 ** 23, gamma: sigmaRelToGamma(s) });
    const targets = [0.03, 0.05, 0.08, 0.1, 0.15, 0.2].map(sigmaRelToGamma);
    const solution = solveCoefficients(snapshots, targets, row.N_per_std * 2 ** 23);
    assert.equal(solution.method, 'cholesky');
    assert.ok(Math.abs(solution.condition - row.cond_A_2norm) <= 1e-6 * row.cond_A_2norm, `N=${row.N_per_std}: cond ${solution.condition} vs ${row.cond_A_2norm}`);
    const maxAbs = Math.max(...solution.coefficients.flat().map(Math.abs));
    // The official LU and ours differ by rounding amplified by cond(A) (~5e-10 relative at N=256, MATH.md).
    assert.ok(Math.abs(maxAbs - row.X_max_abs) <= 1e-16 * row.cond_A_2norm * row.X_max_abs + 1e-12, `N=${row.N_per_std}: max |x| ${maxAbs} vs ${row.X_max_abs}`);
    solution.fitErrors.forEach((err, j) => {
      const expected = row.fit_rel_l2_err_f64_formula[j];
      assert.ok(Math.abs(err - expected) <= 1e-7 + 1e-6 * expected, `N=${row.N_per_std} target ${j}: ${err} vs ${expected}`);
    });
  }
});
