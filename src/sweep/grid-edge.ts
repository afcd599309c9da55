/**
 * Whether a sweep's best lies at the edge of what was evaluated, where the optimum may lie outside
 * the grid, and how well one more grid step that way would fit. Pure.
 */
import { MAX_SIGMA_REL } from '../phema/profile.js';
import type { SweepBest, SweepTarget } from './report.js';
import { roundSigmaRel } from './sigma-rel-key.js';

/** One grid step (the spacing to the edge's neighbour) beyond the edge, with its fit error. */
export function beyondEdge(best: SweepTarget, edge: 'lower' | 'upper', targets: readonly SweepTarget[],
  fitErrorAt: ((sigmaRel: number, time: number) => number | undefined) | undefined): SweepBest['beyond_edge'] {
  if (fitErrorAt === undefined) return null;
  const inward = targets.filter((t) => t.time === best.time && (edge === 'lower' ? t.sigma_rel > best.sigma_rel : t.sigma_rel < best.sigma_rel));
  const neighbour = edge === 'lower' ? Math.min(...inward.map((t) => t.sigma_rel)) : Math.max(...inward.map((t) => t.sigma_rel));
  if (!Number.isFinite(neighbour)) return null;
  const sigmaRel = roundSigmaRel(2 * best.sigma_rel - neighbour);
  if (!(sigmaRel > 0 && sigmaRel < MAX_SIGMA_REL)) return null;
  const fitError = fitErrorAt(sigmaRel, best.time);
  return fitError === undefined ? null : { sigma_rel: sigmaRel, fit_error: fitError };
}

/** Whether the best is the outermost of the successfully evaluated targets at its time. */
export function edgeOf(best: SweepTarget, targets: readonly SweepTarget[]): 'lower' | 'upper' | null {
  const evaluated = targets.filter((t) => t.time === best.time && t.status === 'ok' && t.metric !== null).map((t) => t.sigma_rel);
  if (evaluated.length < 2) return null;
  if (best.sigma_rel <= Math.min(...evaluated)) return 'lower';
  if (best.sigma_rel >= Math.max(...evaluated)) return 'upper';
  return null;
}
