/**
 * What a sweep runs along: sigma_rel for power targets (the record's own field), or for the other
 * kinds the number the user gave (half-life, beta or window, in time units or percent), with an axis
 * title that says which, so the table, chart and plot label it by kind.
 */
import { MAX_SIGMA_REL, sigmaRelToGamma } from '../phema/profile.js';
import type { TargetSummary } from '../reconstruct/plan.js';
import type { Length, Target } from '../reconstruct/targets.js';
import type { SweepRecord } from './results-store.js';
import { roundSigmaRel } from './sigma-rel-key.js';

export function sweepAxisFields(summary: TargetSummary, timeUnit: string | undefined): Pick<SweepRecord, 'kind' | 'value' | 'axis'> {
  const target = summary.resolved.target;
  const length = (name: string, l: Length): Pick<SweepRecord, 'value' | 'axis'> =>
    ({ value: l.value, axis: `${name} (${l.percent ? '% of the target time' : timeUnit ? `${timeUnit}s` : 'time units'})` });
  switch (target.kind) {
    case 'power': return {};
    case 'exponential':
      return { kind: 'exponential', ...(target.givenAs === 'beta' ? { value: target.beta, axis: 'beta' } : length('half-life', target.halfLife)) };
    case 'window': return { kind: 'window', ...length('window', target.window) };
  }
}

/** A target's position on the sweep's axis: sigma_rel, or the number given for other kinds. */
export function axisValue(t: { readonly sigma_rel: number; readonly value?: number }): number {
  return t.value ?? t.sigma_rel;
}

/** The swept quantity without its unit, which is also its flag's name: `half-life`, `beta`, `window`. */
export function axisName(axis: string): string {
  return axis.replace(/ \(.*\)$/, '');
}

/** A point on the axis as notes and warnings name it: `sigma_rel 0.05`, `half-life 5%`, `beta 0.9999`. */
export function axisLabel(axis: string, value: number): string {
  return `${axisName(axis)} ${roundSigmaRel(value)}${axis.includes('(% of') ? '%' : ''}`;
}

/**
 * The target of the template's kind (same flag, unit and --beta-every) at another point of the
 * axis, e.g. one grid step beyond the edge; undefined when that point is not a valid target of
 * that kind (sigma_rel outside (0, 0.2887), beta outside (0, 1), a length not positive, a window
 * over 100%). Whether an absolute window fits within the run is checked when it is resolved.
 */
export function targetAt(template: Target, value: number): Target | undefined {
  if (!(value > 0) || !Number.isFinite(value)) return undefined;
  switch (template.kind) {
    case 'power':
      return value < MAX_SIGMA_REL ? { kind: 'power', sigmaRel: value, gamma: sigmaRelToGamma(value), givenAs: 'sigma_rel' } : undefined;
    case 'exponential':
      if (template.givenAs === 'beta') return value < 1 ? { ...template, beta: value } : undefined;
      return { ...template, halfLife: { ...template.halfLife, value } };
    case 'window':
      return template.window.percent && value > 100 ? undefined : { kind: 'window', window: { ...template.window, value } };
  }
}
