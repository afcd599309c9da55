/** `ema-synth prune`'s report: the choice as text, or as one JSON document (also kept in the manifest). */
import type { PruneChoice } from '../prune/choose-removals.js';
import type { PruneCriterion } from '../prune/prune-criterion.js';
import { formatSigma } from '../reconstruct/report-text.js';
import type { Snapshot } from '../snapshots/discover.js';
import { formatBytes, formatPercent, renderTable } from './format.js';

export interface PruneReport {
  readonly dir: string;
  readonly timeUnit: string | undefined;
  readonly criterion: PruneCriterion;
  readonly choice: PruneChoice;
  readonly all: readonly Snapshot[];
}

export interface Applied {
  readonly mode: 'trash' | 'delete';
  readonly trashDir: string | null;
  readonly manifest: string;
}

export const HEURISTIC = 'greedy backward elimination (a heuristic: another choice may free more); the fit errors shown are exact, from the same solve as inspect';
/** More times than this are summarised per time instead of per target. */
const DETAILED_TIMES = 3;

export function pruneJson(report: PruneReport, applied: Applied | null): unknown {
  const { choice } = report;
  const bytes = (list: readonly Snapshot[]): number => list.reduce((sum, s) => sum + s.bytes, 0);
  return {
    snapshot_dir: report.dir, method: HEURISTIC, criterion: criterionJson(report.criterion), goal_reached: choice.goalReached, put_back: choice.putBack,
    snapshots_before: report.all.length, snapshots_after: choice.kept.length, bytes_before: bytes(report.all), bytes_after: bytes(choice.kept), bytes_freed: bytes(choice.removed),
    remove: choice.removed.map((s) => ({ file: s.fileName, time: s.time, sigma_rel: s.sigmaRel, bytes: s.bytes })),
    fit: choice.times.map((time, t) => ({
      time,
      targets: choice.targets.map((target, j) => ({ sigma_rel: target.sigmaRel, before: choice.before[t][j], after: choice.after[t][j], limit: choice.limits?.[t][j] ?? null })),
    })),
    applied: applied === null ? null : { mode: applied.mode, trash_dir: applied.trashDir, manifest: applied.manifest },
  };
}

export function renderPrune(report: PruneReport, applied: Applied | null, askedToApply: boolean): string {
  const { choice } = report;
  const freed = choice.removed.reduce((sum, s) => sum + s.bytes, 0);
  const total = report.all.reduce((sum, s) => sum + s.bytes, 0);
  const lines = [
    `${report.dir}: ${report.all.length} snapshots, ${formatBytes(total)}; remove ${choice.removed.length} (${formatBytes(freed)}), keep ${choice.kept.length}`,
    `criterion: ${describeCriterion(report.criterion)}${choice.goalReached || report.criterion.kind === 'increase' ? '' : ' (not reached: the snapshots at the latest time are always kept)'}`,
    `method: ${HEURISTIC}${choice.putBack > 0 ? `; ${choice.putBack} removal(s) put back because the exact errors exceeded the bound` : ''}`,
    '',
  ];
  if (choice.removed.length > 0) {
    lines.push(renderTable(['remove', 'time', 'sigma_rel', 'bytes'], choice.removed.map((s) => [s.fileName, String(s.time), formatSigma(s.sigmaRel), formatBytes(s.bytes)])));
  }
  lines.push(...fitTables(report));
  if (applied !== null) {
    lines.push(`${applied.mode === 'trash' ? `moved ${choice.removed.length} file(s) to ${applied.trashDir}` : `deleted ${choice.removed.length} file(s)`}; record in ${applied.manifest}`);
  } else if (choice.removed.length === 0) {
    lines.push('nothing to remove');
  } else if (!askedToApply) {
    lines.push('dry run: nothing was touched; add --apply --trash DIR (or --apply --delete) to remove these files');
  }
  return `${lines.join('\n')}\n`;
}

function fitTables(report: PruneReport): string[] {
  const { choice } = report;
  const unit = report.timeUnit ? ` ${report.timeUnit}s` : '';
  const limitCell = (t: number, j: number): string => (choice.limits === null ? '-' : formatPercent(choice.limits[t][j], 3));
  if (choice.times.length <= DETAILED_TIMES) {
    return choice.times.map((time, t) => `fit error at time ${time}${unit}:\n${renderTable(['sigma_rel', 'before', 'after', 'rise (pp)', 'limit'], choice.targets.map((target, j) => [
      formatSigma(target.sigmaRel), formatPercent(choice.before[t][j], 3), formatPercent(choice.after[t][j], 3), (100 * (choice.after[t][j] - choice.before[t][j])).toFixed(4), limitCell(t, j),
    ]))}`);
  }
  return [`fit error per time (worst over the ${choice.targets.length} targets):\n${renderTable(['time', 'worst before', 'worst after', 'largest rise (pp)'], choice.times.map((time, t) => [
    String(time), formatPercent(Math.max(...choice.before[t]), 3), formatPercent(Math.max(...choice.after[t]), 3),
    (100 * Math.max(...choice.after[t].map((e, j) => e - choice.before[t][j]))).toFixed(4),
  ]))}`];
}

function describeCriterion(criterion: PruneCriterion): string {
  if (criterion.kind === 'keep') return `keep ${criterion.count} files, removing those that raise the worst fit error least`;
  if (criterion.kind === 'budget') return `fit in ${formatBytes(criterion.bytes)}, removing the files that raise the worst fit error least`;
  const { increase } = criterion;
  return increase.kind === 'absolute'
    ? `every fit error may rise by at most ${+(increase.value * 100).toFixed(6)} percentage points`
    : `every fit error may rise by at most ${+(increase.value * 100).toFixed(6)}% of its value`;
}

function criterionJson(criterion: PruneCriterion): unknown {
  if (criterion.kind === 'increase') return { max_fit_error_increase: criterion.increase.value, kind: criterion.increase.kind };
  return criterion.kind === 'keep' ? { keep: criterion.count } : { budget_bytes: criterion.bytes };
}
