/**
 * `--refine N` over a time grid: at each time, up to N more lengths placed around that time's best
 * (refine.ts proposes them from the points evaluated there, by mean metric). One step proposes a
 * length at every time not yet converged, and those cells go through the groups like grid cells
 * (one pass for the batch, the disk bound kept). Steps already recorded count, so a rerun continues
 * where it stopped and a finished one adds nothing; unfinished refinement cells are completed first.
 */
import { sigmaRelToGamma } from '../phema/profile.js';
import { fitWarnings } from '../reconstruct/fit-warnings.js';
import { planReconstruction, type ReconstructionPlan } from '../reconstruct/plan.js';
import type { Target } from '../reconstruct/targets.js';
import { summarizeCells } from './cells.js';
import { runCells } from './cell-groups.js';
import { nextRefinementPoint } from './refine.js';
import { planOptionsOf, sweepRecords, usesRepeats, type CellWork, type SweepContext } from './sweep-context.js';

export async function refineEachTime(context: SweepContext): Promise<void> {
  const { settings } = context;
  const cellsAt = (time: number) => summarizeCells(sweepRecords(context), usesRepeats(context)).filter((c) => c.time === time);
  const workAt = (sigmaRel: number, time: number): CellWork & { plan: ReconstructionPlan } => {
    const target: Target = { kind: 'power', sigmaRel, gamma: sigmaRelToGamma(sigmaRel), givenAs: 'sigma_rel' };
    const plan = planReconstruction(context.set, [target], time, settings.convention, planOptionsOf(context));
    return { target, summary: plan.summaries[0], plan };
  };
  const earlier = context.times.flatMap((time) => cellsAt(time).filter((c) => c.phase === 'refine').map((c) => workAt(c.sigma_rel, time)));
  if (earlier.length > 0) await runCells(context, earlier, 'refine');
  const converged = new Set<number>();
  for (;;) {
    const batch: CellWork[] = [];
    for (const time of context.times) {
      const cells = cellsAt(time);
      const steps = cells.filter((c) => c.phase === 'refine').length;
      if (converged.has(time) || steps >= settings.refine) continue;
      const points = cells.map((c) => ({ sigmaRel: c.sigma_rel, metric: c.status === 'ok' ? c.metric ?? undefined : undefined }));
      const proposal = nextRefinementPoint(points, { maximize: settings.maximize });
      if (proposal === undefined) { converged.add(time); continue; } // nothing left worth evaluating here
      context.emit({ type: 'refine', step: steps + 1, sigmaRel: proposal.sigmaRel, method: proposal.method, ...(context.times.length > 1 ? { time } : {}) });
      const work = workAt(proposal.sigmaRel, time);
      for (const message of fitWarnings(work.plan, work.summary)) context.emit({ type: 'note', message });
      batch.push(work);
    }
    if (batch.length === 0) return;
    const before = context.records.length;
    await runCells(context, batch, 'refine');
    if (context.records.length === before) return; // nothing recorded (cannot happen short of an abort): never loop
  }
}
