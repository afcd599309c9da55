/**
 * What a sweep runs along: sigma_rel for power targets (the record's own field), or for the other
 * kinds the number the user gave (half-life, beta or window, in time units or percent), with an axis
 * title that says which, so the table, chart and plot label it by kind.
 */
import type { TargetSummary } from '../reconstruct/plan.js';
import type { Length } from '../reconstruct/targets.js';
import type { SweepRecord } from './results-store.js';

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
