import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gammaToSigmaRel, MAX_SIGMA_REL, sigmaRelToGamma, trackingBeta } from '../src/phema/profile.js';
import { profileInnerProduct } from '../src/phema/inner-product.js';
import { reference } from './helpers/reference.js';

// Source of truth: test/reference/phema-reference.json (official code, numpy float64; exact values via mpmath).

test('sigma_rel -> gamma matches the exact root to 1e-14 relative', () => {
  // numpy's own result is up to 3 ulp off; near sigma_rel 0.28 (gamma 0.17) the cubic's constant
  // terms nearly cancel and we measured 7 ulp, hence 1e-14 rather than a few ulp.
  for (const c of reference.conversions.std_to_exp) {
    const gamma = sigmaRelToGamma(c.std);
    assert.ok(Math.abs(gamma - c.exp_exact_nearest_f64) <= 1e-14 * c.exp_exact_nearest_f64, `${c.std}: ${gamma} vs ${c.exp_exact_nearest_f64}`);
  }
});

test('gamma -> sigma_rel matches the reference to 1e-15 relative', () => {
  for (const c of reference.conversions.exp_to_std) {
    if (c.exp <= 0) continue;
    assert.ok(Math.abs(gammaToSigmaRel(c.exp) - c.std) <= 1e-15 * c.std, `${c.exp}`);
  }
});

test('sigma_rel -> gamma at the edges: tiny widths and just inside 1/sqrt(12)', () => {
  for (const c of reference.conversions.std_to_exp_edge) {
    if (!(c.std < MAX_SIGMA_REL)) continue;
    const gamma = sigmaRelToGamma(c.std);
    assert.ok(gamma > 0);
    // Round trip is the independent check here: numpy's roots are less accurate than ours.
    assert.ok(Math.abs(gammaToSigmaRel(gamma) - c.std) <= 1e-12 * c.std, `${c.std}`);
  }
});

test('sigma_rel outside (0, 1/sqrt(12)) is rejected rather than giving a negative gamma', () => {
  for (const bad of [0, -0.05, MAX_SIGMA_REL, 0.2887, 0.289, 0.3, Number.NaN]) {
    assert.throws(() => sigmaRelToGamma(bad), RangeError, `${bad}`);
  }
});

test('inner products of profiles match the official values to 2 ulp', () => {
  for (const c of reference.correlation) {
    const value = profileInnerProduct({ time: c.a_ofs, gamma: c.a_exp }, { time: c.b_ofs, gamma: c.b_exp });
    assert.ok(Math.abs(value - c.value) <= 2 * Number.EPSILON * c.value, `${JSON.stringify(c)} -> ${value}`);
  }
});

test('tracking beta matches the official values to 1e-15 relative, and the first update copies', () => {
  for (const c of reference.beta) {
    if (c.beta === 'NaN') {
      // The official code returns NaN for t_next < t_delta; we refuse instead.
      assert.throws(() => trackingBeta(c.exp, c.t_next, c.t_delta), RangeError);
      continue;
    }
    const beta = trackingBeta(c.exp, c.t_next, c.t_delta);
    assert.ok(Math.abs(beta - c.beta) <= 1e-15 * Math.max(c.beta, 1e-300) || beta === c.beta, `${JSON.stringify(c)} -> ${beta}`);
  }
});

test('recursive tracking realises the closed-form power-function weights', () => {
  for (const c of reference.ema_tracking_weights) {
    const gamma = sigmaRelToGamma(c.std);
    // Weight of update k in the final EMA: (1 - beta_k) * prod_{m>k} beta_m.
    const weights: number[] = [];
    for (let k = 1; k <= c.num_updates; k++) {
      let w = 1 - trackingBeta(gamma, k * c.t_delta, c.t_delta);
      for (let m = k + 1; m <= c.num_updates; m++) w *= trackingBeta(gamma, m * c.t_delta, c.t_delta);
      weights.push(w);
    }
    weights.forEach((w, i) => assert.ok(Math.abs(w - c.weights_closed_form[i]) <= 1e-15, `${i}: ${w}`));
  }
});
