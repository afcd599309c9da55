import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { kummerIntegral } from '../src/phema/kummer.js';
import { powerTargetProduct, targetMass, targetSelfProduct, targetWidth } from '../src/phema/target-profile.js';

// Source of truth: test/reference/target-profiles-reference.json (mpmath at 50 digits, from the
// script beside it). Inputs are in time units; our functions take the target time as the unit.
const reference = JSON.parse(readFileSync(new URL('./reference/target-profiles-reference.json', import.meta.url), 'utf8'));
const RELATIVE = 1e-12;

function close(actual: number, expected: number, what: string): void {
  if (expected < 1e-300) {
    assert.ok(Math.abs(actual) < 1e-290, `${what}: ${actual} where the reference underflows (${expected})`);
    return;
  }
  const error = Math.abs(actual - expected) / Math.abs(expected);
  assert.ok(error <= RELATIVE, `${what}: ${actual} vs ${expected} (relative ${error.toExponential(2)})`);
}

test('Kummer integral F(gamma, a) within 1e-12 relative of mpmath over gamma 0.5..200, a 1e-6..1e4', () => {
  assert.ok(reference.kummer.length >= 80);
  for (const r of reference.kummer) close(kummerIntegral(r.gamma, r.a), r.value, `F(${r.gamma}, ${r.a})`);
});

test('power snapshot against exponential target within 1e-12 relative, any time ratio', () => {
  for (const r of reference.exponential) {
    // In units of the target time: snapshot time t_i / t, rate lambda t; the product scales as 1 / t.
    const value = powerTargetProduct({ time: r.snapshot_time / r.time, gamma: r.gamma }, { kind: 'exponential', rate: r.rate * r.time }) / r.time;
    close(value, r.value, `<p(${r.snapshot_time}, ${r.gamma}), q(${r.time}, ${r.rate})>`);
  }
  for (const r of reference.exponential_self) close(targetSelfProduct({ kind: 'exponential', rate: r.rate * r.time }) / r.time, r.value, `<q, q> at rate ${r.rate}`);
});

test('power snapshot against window target within 1e-12 relative, including narrow windows and zero overlap', () => {
  let zeros = 0;
  for (const r of reference.window) {
    const value = powerTargetProduct({ time: r.snapshot_time / r.time, gamma: r.gamma }, { kind: 'window', width: r.width / r.time }) / r.time;
    if (r.value === 0) {
      zeros++;
      assert.equal(value, 0, `<p(${r.snapshot_time}, ${r.gamma}), u(${r.width})> must be 0 without overlap`);
      continue;
    }
    close(value, r.value, `<p(${r.snapshot_time}, ${r.gamma}), u(${r.time}, ${r.width})>`);
  }
  assert.ok(zeros > 0, 'the reference covers snapshots that end before the window starts');
});

test('target masses add up to 1 over [0, 1] and match the inner product with a narrow power snapshot', () => {
  for (const target of [{ kind: 'power', gamma: 6.94 }, { kind: 'exponential', rate: 37 }, { kind: 'window', width: 0.3 }] as const) {
    let total = 0;
    const cuts = Array.from({ length: 101 }, (_, i) => (i / 100) ** 2);
    for (let i = 0; i < 100; i++) total += targetMass(target, cuts[i], cuts[i + 1]);
    assert.ok(Math.abs(total - 1) < 1e-13, `${target.kind}: total mass ${total}`);
  }
  // Mass of the exponential on [a, b] against the closed form by a midpoint rule (second method).
  const rate = 12;
  const density = (tau: number): number => (rate * Math.exp(-rate * (1 - tau))) / -Math.expm1(-rate);
  let midpoint = 0;
  for (let i = 0; i < 10000; i++) midpoint += density(0.4 + (0.3 * (i + 0.5)) / 10000) * (0.3 / 10000);
  assert.ok(Math.abs(targetMass({ kind: 'exponential', rate }, 0.4, 0.7) - midpoint) < 1e-9);
});

test('target widths: window w/sqrt(12), exponential -> 1/sqrt(12) as the rate vanishes and ~1/rate when large', () => {
  assert.ok(Math.abs(targetWidth({ kind: 'window', width: 0.2 }) - 0.2 / Math.sqrt(12)) < 1e-15);
  assert.ok(Math.abs(targetWidth({ kind: 'exponential', rate: 1e-9 }) - Math.sqrt(1 / 12)) < 1e-12);
  assert.ok(Math.abs(targetWidth({ kind: 'exponential', rate: 1000 }) * 1000 - 1) < 1e-9);
  // Continuity where the series hands over to the closed form.
  assert.ok(Math.abs(targetWidth({ kind: 'exponential', rate: 0.999e-3 }) - targetWidth({ kind: 'exponential', rate: 1.001e-3 })) < 1e-9);
  // A numerical variance (second method) at a moderate rate.
  const rate = 5;
  const n = 200000;
  let m0 = 0;
  let m1 = 0;
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const tau = (i + 0.5) / n;
    const w = Math.exp(-rate * (1 - tau));
    m0 += w;
    m1 += w * tau;
    m2 += w * tau * tau;
  }
  assert.ok(Math.abs(targetWidth({ kind: 'exponential', rate }) - Math.sqrt(m2 / m0 - (m1 / m0) ** 2)) < 1e-8);
});
