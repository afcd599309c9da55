import type { SweepReport } from './report.js';

/**
 * `--keep best|all|none`: which reconstructed checkpoints to delete once the whole sweep (grid and
 * refinement) is done. Deciding only at the end matters: the best point can move until the last
 * refinement step, and a resumed sweep must still find the checkpoints it has not evaluated yet.
 */
export type KeepPolicy = 'best' | 'all' | 'none';

/** Checkpoint paths to delete, each once. With no best (nothing evaluated), `best` deletes nothing. */
export function checkpointsToRemove(report: SweepReport, keep: KeepPolicy): string[] {
  if (keep === 'all') return [];
  const paths = new Set(report.targets.flatMap((t) => (t.checkpoint === null ? [] : [t.checkpoint])));
  if (keep === 'best') {
    if (report.best === null) return [];
    if (report.best.checkpoint !== null) paths.delete(report.best.checkpoint);
  }
  return [...paths];
}
