/**
 * Whether a sweep's best lies at the edge of what was evaluated, where the optimum may lie outside
 * the grid, and how well one more grid step that way would fit. Works along the sweep's axis
 * (sigma_rel, or the half-life, beta or window swept): each of them widens the profile as it grows,
 * so the lower edge is always the narrowest EMA. Pure.
 */
import { MAX_SIGMA_REL } from '../phema/profile.js';
import type { SweepBest, SweepTarget } from './report.js';
import { axisValue } from './sweep-axis.js';
import { roundSigmaRel } from './sigma-rel-key.js';

/**
 * One grid step (the spacing to the edge's neighbour) beyond the edge, with its fit error.
 * `fitErrorAt` gets the step on the sweep's axis; for other kinds than power it returns undefined
 * when the step is not a valid target (e.g. beta >= 1, a window longer than the run).
 */
export function beyondEdge(best: SweepTarget, edge: 'lower' | 'upper', targets: readonly SweepTarget[],
  fitErrorAt: ((value: number, time: number) => number | undefined) | undefined): SweepBest['beyond_edge'] {
  if (fitErrorAt === undefined) return null;
  const at = axisValue(best);
  const inward = targets.filter((t) => t.time === best.time && (edge === 'lower' ? axisValue(t) > at : axisValue(t) < at)).map(axisValue);
  const neighbour = edge === 'lower' ? Math.min(...inward) : Math.max(...inward);
  if (!Number.isFinite(neighbour)) return null;
  const value = roundSigmaRel(2 * at - neighbour);
  const power = best.value === undefined;
  if (!(value > 0) || (power && !(value < MAX_SIGMA_REL))) return null;
  const fitError = fitErrorAt(value, best.time);
  if (fitError === undefined) return null;
  return power ? { sigma_rel: value, fit_error: fitError } : { value, fit_error: fitError };
}

/** Whether the best is the outermost of the successfully evaluated targets at its time. */
export function edgeOf(best: SweepTarget, targets: readonly SweepTarget[]): 'lower' | 'upper' | null {
  const evaluated = targets.filter((t) => t.time === best.time && t.status === 'ok' && t.metric !== null).map(axisValue);
  if (evaluated.length < 2) return null;
  if (axisValue(best) <= Math.min(...evaluated)) return 'lower';
  if (axisValue(best) >= Math.max(...evaluated)) return 'upper';
  return null;
}
