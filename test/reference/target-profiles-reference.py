#!/usr/bin/env python3
"""Reference values for the exponential and window target profiles (docs/MATH.md, "Other target
profiles, and realised ones"), computed with mpmath at 50 significant digits, taking every float64
input as exact. ema-synth computes them in float64 (src/phema/kummer.ts, src/phema/target-profile.ts);
test/phema-target-profile.test.ts compares.

    python3 test/reference/target-profiles-reference.py > test/reference/target-profiles-reference.json

- kummer: F(gamma, a) = integral_0^1 u^gamma exp(-a (1 - u)) du = 1F1(1; gamma + 2; -a) / (gamma + 1)
  (mpmath.hyp1f1), cross-checked by mpmath.quad where the integrand is smooth enough for it.
- exponential: <p_{t_i,gamma}, q_{t,lambda}> for power profile p (MATH.md "Power-function EMA
  profiles") and q_{t,lambda}(tau) = lambda exp(-lambda (t - tau)) / (1 - exp(-lambda t)) on [0, t];
  <q, q>. Cross-checked by mpmath.quad of the product of the two densities.
- window: <p_{t_i,gamma}, u_{t,w}> with u = 1/w on [t - w, t]; <u, u> = 1/w (exact). Cross-checked by quad.
"""
import json
import sys

import mpmath as mp

mp.mp.dps = 50
GAMMAS = [0.5, 1.0, 2.5, 6.937203937601809, 16.972198602303447, 50.0, 120.0, 200.0]
ARGUMENTS = [1e-6, 1e-3, 0.1, 1.0, 7.5, 30.0, 100.0, 1000.0, 5000.0, 10000.0]


def kummer(gamma, a):
    return mp.hyp1f1(1, gamma + 2, -a) / (gamma + 1)


def power_density(t, gamma):
    return lambda tau: (gamma + 1) * tau ** gamma / t ** (gamma + 1) if 0 <= tau <= t else mp.mpf(0)


def exponential_product(ti, gamma, t, lam):
    m = min(ti, t)
    integral = m ** (gamma + 1) * kummer(gamma, lam * m)
    return (gamma + 1) * lam * mp.exp(-lam * (t - m)) * integral / (ti ** (gamma + 1) * (1 - mp.exp(-lam * t)))


def window_product(ti, gamma, t, w):
    m = min(ti, t)
    if not t - w < m:
        return mp.mpf(0)
    return (m ** (gamma + 1) - (t - w) ** (gamma + 1)) / (w * ti ** (gamma + 1))


def close(a, b, tol=mp.mpf('1e-20')):
    return abs(a - b) <= tol * max(abs(a), abs(b), mp.mpf('1e-300'))


rows_kummer = []
for gamma in GAMMAS:
    for a in ARGUMENTS:
        g, x = mp.mpf(gamma), mp.mpf(a)
        value = kummer(g, x)
        if a <= 100 and gamma <= 50:
            assert close(value, mp.quad(lambda u: u ** g * mp.exp(-x * (1 - u)), [0, 0.5, 0.9, 0.99, 1])), (gamma, a)
        rows_kummer.append({'gamma': gamma, 'a': a, 'value': float(value)})

rows_exp = []
for gamma in [0.5, 6.937203937601809, 16.972198602303447, 200.0]:
    for ratio in [1.0, 0.9, 0.5, 0.1, 1e-3, 1.5]:
        for lam_t in [1e-6, 0.05, 1.0, 20.0, 1000.0, 10000.0]:
            t = 1000.0
            ti = ratio * t
            lam = lam_t / t
            g, T, Ti, L = mp.mpf(gamma), mp.mpf(t), mp.mpf(ti), mp.mpf(lam)
            value = exponential_product(Ti, g, T, L)
            if lam_t <= 20 and gamma <= 20:
                q = lambda tau: L * mp.exp(-L * (T - tau)) / (1 - mp.exp(-L * T)) if 0 <= tau <= T else mp.mpf(0)
                p = power_density(Ti, g)
                m = min(Ti, T)
                assert close(value, mp.quad(lambda tau: p(tau) * q(tau), [0, m / 2, m]), mp.mpf('1e-15')), (gamma, ratio, lam_t)
            rows_exp.append({'snapshot_time': ti, 'gamma': gamma, 'time': t, 'rate': lam, 'value': float(value)})

rows_exp_self = []
for lam_t in [1e-6, 0.05, 1.0, 20.0, 1000.0, 10000.0]:
    t = 1000.0
    L, T = mp.mpf(lam_t / t), mp.mpf(t)
    value = L * (1 + mp.exp(-L * T)) / (2 * (1 - mp.exp(-L * T)))
    rows_exp_self.append({'time': t, 'rate': lam_t / t, 'value': float(value)})

rows_window = []
for gamma in [0.5, 6.937203937601809, 16.972198602303447, 200.0]:
    for ratio in [1.0, 0.95, 0.7, 0.3, 1.5]:
        for fraction in [1.0, 0.5, 0.2, 0.01, 1e-4, 1e-8]:
            t = 1000.0
            ti, w = ratio * t, fraction * t
            g, T, Ti, W = mp.mpf(gamma), mp.mpf(t), mp.mpf(ti), mp.mpf(w)
            value = window_product(Ti, g, T, W)
            if gamma <= 20 and value > 0:
                p = power_density(Ti, g)
                lo, hi = T - W, min(Ti, T)
                assert close(value, mp.quad(lambda tau: p(tau) / W, [lo, (lo + hi) / 2, hi]), mp.mpf('1e-15')), (gamma, ratio, fraction)
            rows_window.append({'snapshot_time': ti, 'gamma': gamma, 'time': t, 'width': w, 'value': float(value)})

json.dump({
    'provenance': f'test/reference/target-profiles-reference.py, mpmath {mp.__version__} at {mp.mp.dps} digits, float64 inputs taken as exact',
    'kummer': rows_kummer,
    'exponential': rows_exp,
    'exponential_self': rows_exp_self,
    'window': rows_window,
}, sys.stdout, indent=1)
sys.stdout.write('\n')
