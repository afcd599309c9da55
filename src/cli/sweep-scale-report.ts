/**
 * The sweep report's additions for real runs: passes over the snapshots, the time grid with the best
 * length at each time, noisy-metric statistics, and targets stopped early. Text after the table,
 * fields for --json.
 */
import { gridSummary, renderGridText } from '../sweep/report-grid.js';
import type { SweepOutcome } from '../sweep/run-sweep.js';
import type { SweepSettings } from '../sweep/sweep-settings.js';

export function scaleJson(outcome: SweepOutcome): Record<string, unknown> {
  const summary = gridSummary(outcome.report);
  return {
    times: outcome.times,
    ...(outcome.times.length > 1 ? { best_per_time: summary.best_per_time } : {}),
    ...(summary.distinguishable === null ? {} : { runner_up: summary.runner_up, best_distinguishable: summary.distinguishable }),
  };
}

/**
 * What this run did (not a result: a rerun that finds everything done makes no pass), for stderr:
 * `reconstructed 32 checkpoints in 8 passes over the snapshots (at most 4 on disk at once, plus the best)`.
 */
export function renderPassesLine(outcome: SweepOutcome, settings: SweepSettings): string {
  if (outcome.passes.length === 0) return '';
  const written = outcome.passes.reduce((sum, p) => sum + p.targets, 0);
  return `reconstructed ${written} checkpoint${written === 1 ? '' : 's'} in ${outcome.passes.length} pass${outcome.passes.length === 1 ? '' : 'es'} over the snapshots` +
    `${settings.maxCheckpoints === undefined ? '' : ` (at most ${settings.maxCheckpoints} on disk at once, plus the best)`}\n`;
}

/** Results after the table: targets stopped early, the time grid, the best per time, distinguishability. */
export function renderScaleText(outcome: SweepOutcome, settings: SweepSettings): string {
  const lines: string[] = [];
  const stopped = settings.pruneMargin === undefined ? 0
    : outcome.report.targets.filter((t) => t.status === 'ok' && t.repeats !== undefined && t.repeats < settings.repeat).length;
  if (stopped > 0) lines.push(`${stopped} target${stopped === 1 ? '' : 's'} stopped early (worse than the best by more than ${settings.pruneMargin} standard errors)`);
  const grid = renderGridText(outcome.report);
  return `${lines.length === 0 ? '' : `${lines.join('\n')}\n`}${grid === '' ? '' : `\n${grid}`}`;
}
