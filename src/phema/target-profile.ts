/**
 * Target profiles besides the power function (MATH.md "Other target profiles, and realised ones"):
 * what the solve needs of a target r at time 1 (times are in units of the target time): its inner
 * product with a power-profile snapshot, <r, r>, its mass on an interval (for realised snapshot
 * profiles), and its width. Pure float64 math.
 */
import { profileInnerProduct, profileSelfInnerProduct, type Profile } from './inner-product.js';
import { kummerIntegral } from './kummer.js';
import { gammaToSigmaRel } from './profile.js';

export type TargetProfile =
  /** p_{1,gamma}(tau) = (gamma + 1) tau^gamma. */
  | { readonly kind: 'power'; readonly gamma: number }
  /** q(tau) = rate exp(-rate (1 - tau)) / (1 - exp(-rate)): a constant-beta EMA, normalised on [0, 1]. */
  | { readonly kind: 'exponential'; readonly rate: number }
  /** u(tau) = 1 / width on [1 - width, 1]: the uniform average of the last part of training. */
  | { readonly kind: 'window'; readonly width: number };

/** <p_{t,gamma}, r> for a power-profile snapshot at time t (any t > 0). */
export function powerTargetProduct(snapshot: Profile, target: TargetProfile): number {
  const { time: t, gamma } = snapshot;
  switch (target.kind) {
    case 'power':
      return profileInnerProduct(snapshot, { time: 1, gamma: target.gamma });
    case 'exponential': {
      // (gamma+1) lambda exp(-lambda (1 - m)) m^(gamma+1) F(gamma, lambda m) / (t^(gamma+1) (1 - exp(-lambda))), m = min(t, 1)
      const lambda = target.rate;
      const m = Math.min(t, 1);
      const ratio = t <= 1 ? 1 : (1 / t) ** (gamma + 1);
      return ((gamma + 1) * lambda * Math.exp(-lambda * (1 - m)) * ratio * kummerIntegral(gamma, lambda * m)) / -Math.expm1(-lambda);
    }
    case 'window': {
      // (m^(gamma+1) - (1 - w)^(gamma+1)) / (w t^(gamma+1)), written as a difference that does not cancel.
      const w = target.width;
      const m = Math.min(t, 1);
      // m - (1 - w) as (m - 1) + w: exact where it matters, while 1 - w would round w away for narrow windows.
      const overlap = m - 1 + w;
      if (!(overlap > 0)) return 0;
      const scale = t <= 1 ? 1 : (1 / t) ** (gamma + 1);
      return (scale * -Math.expm1((gamma + 1) * Math.log1p(Math.max(-overlap / m, -1)))) / w;
    }
  }
}

/** <r, r>. */
export function targetSelfProduct(target: TargetProfile): number {
  switch (target.kind) {
    case 'power':
      return profileSelfInnerProduct({ time: 1, gamma: target.gamma });
    case 'exponential': {
      const lambda = target.rate;
      return (lambda * (1 + Math.exp(-lambda))) / (-2 * Math.expm1(-lambda));
    }
    case 'window':
      return 1 / target.width;
  }
}

/** integral_a^b r(tau) d tau for 0 <= a < b (r is zero after 1), without cancellation for short intervals. */
export function targetMass(target: TargetProfile, a: number, end: number): number {
  const b = Math.min(end, 1);
  if (!(a < b)) return 0;
  switch (target.kind) {
    case 'power':
      // b^(g+1) - a^(g+1) = b^(g+1) (1 - (a/b)^(g+1))
      return b ** (target.gamma + 1) * -Math.expm1((target.gamma + 1) * Math.log1p(-(b - a) / b));
    case 'exponential': {
      const lambda = target.rate;
      return (Math.exp(-lambda * (1 - b)) * -Math.expm1(-lambda * (b - a))) / -Math.expm1(-lambda);
    }
    case 'window': {
      const start = Math.max(a - 1 + target.width, 0); // positions relative to the window's start
      const overlap = Math.min(b - 1 + target.width, target.width) - start;
      return overlap > 0 ? overlap / target.width : 0;
    }
  }
}

/** Standard deviation of tau under r (tau in units of the target time): sigma_rel for power profiles. */
export function targetWidth(target: TargetProfile): number {
  switch (target.kind) {
    case 'power':
      return gammaToSigmaRel(target.gamma);
    case 'window':
      return target.width / Math.sqrt(12);
    case 'exponential': {
      // Exp(lambda) truncated to [0, 1]: variance 1/lambda^2 - 1 / (4 sinh^2(lambda / 2)); a series near 0.
      const l = target.rate;
      if (l < 1e-3) return Math.sqrt(1 / 12 - l ** 2 / 240);
      return Math.sqrt(1 / l ** 2 - 1 / (4 * Math.sinh(l / 2) ** 2));
    }
  }
}
