/**
 * Works through sweep cells in groups: one reconstruction pass per group, then its evaluations.
 * Without `--max-checkpoints` all pending cells are one group (one pass, every checkpoint on disk
 * until --keep decides at the end). With `--max-checkpoints N` each group holds at most N cells,
 * and after each group every checkpoint but the best so far is deleted, so the disk never holds
 * more than N + 1 checkpoints: N being written or evaluated, plus the best.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { outputFileName } from '../reconstruct/output-format.js';
import { planReconstruction } from '../reconstruct/plan.js';
import { checkOutputs, passBytes, writeReconstructions } from '../reconstruct/write-reconstructions.js';
import { isReusableCheckpoint } from './checkpoint-reuse.js';
import { evaluateCells, isCellDone, type CellItem } from './cell-evaluation.js';
import { mergePlans } from './multi-time-plan.js';
import { bestSoFar, planOptionsOf, record, sweepRecords, type CellWork, type SweepContext } from './sweep-context.js';

export async function runCells(context: SweepContext, works: readonly CellWork[], phase: 'grid' | 'refine'): Promise<void> {
  const { settings } = context;
  const pending = works.filter((work) => !isCellDone(context, work));
  if (pending.length === 0) return;
  if (settings.outDir === undefined || (settings.keep === 'none' && context.evaluator === undefined)) {
    // A fit-error-only sweep: nothing to write, nothing to read.
    for (const { summary } of pending) await record(context, summary, phase, { checkpoint: null, metric: null, status: 'ok', reason: null });
    return;
  }
  const items = pending.map((work) => ({ work, path: join(settings.outDir!, outputFileName(work.target, work.summary.time, context.set.edm2Pickles)) }));
  const reusable = new Set((await Promise.all(items.map(async (item) =>
    (await isReusableCheckpoint(item.path, item.work.summary)) ? item.path : undefined))).filter((p) => p !== undefined));
  const bound = settings.maxCheckpoints;
  // Checkpoints an interrupted run left are used first, so the bound holds from the first group on.
  const ordered = bound === undefined ? items : [...items.filter((i) => reusable.has(i.path)), ...items.filter((i) => !reusable.has(i.path))];
  const groups = bound === undefined ? [ordered] : chunk(ordered, bound);
  if (bound !== undefined) await removeSpentCheckpoints(context, new Set(ordered.map((i) => i.path)));
  for (const [g, group] of groups.entries()) {
    const toBuild = group.filter((item) => !reusable.has(item.path));
    if (toBuild.length > 0) await reconstructGroup(context, toBuild, phase, groups.length > 1 ? { index: g + 1, count: groups.length } : undefined);
    if (context.evaluator === undefined) {
      for (const { work, path } of group) await record(context, work.summary, phase, { checkpoint: path, metric: null, status: 'ok', reason: null });
    } else {
      await evaluateCells(context, group, phase);
    }
    if (bound !== undefined) await removeSpentCheckpoints(context, new Set(groups.slice(g + 1).flat().map((i) => i.path)));
  }
}

/** One pass for the group, whatever its times (multi-time-plan.ts); separate passes only when plans cannot merge. */
async function reconstructGroup(context: SweepContext, items: readonly CellItem[], phase: 'grid' | 'refine', group: { index: number; count: number } | undefined): Promise<void> {
  const { settings } = context;
  const times = [...new Set(items.map((i) => i.work.summary.time))].sort((a, b) => a - b);
  const byTime = times.map((time) => items.filter((i) => i.work.summary.time === time));
  const plans = byTime.map((cells, k) => planReconstruction(context.set, cells.map((c) => c.work.target), times[k], settings.convention, planOptionsOf(context)));
  for (const { plan, members } of mergePlans(plans)) {
    const paths = members.flatMap((k) => byTime[k].map((c) => c.path));
    await checkOutputs(plan, paths, settings.force);
    context.emit({ type: 'pass-start', targets: paths.length, totalBytes: passBytes(plan), phase, ...(group ? { group } : {}) });
    const { bytesRead } = await writeReconstructions(plan, paths, {
      dtype: settings.dtype,
      force: settings.force,
      allowNonFinite: settings.allowNonFinite,
      threads: settings.threads,
      onProgress: (bytes) => context.emit({ type: 'pass-progress', bytesRead: bytes }),
      signal: context.signal,
    });
    context.passes.push({ phase, targets: paths.length, bytes_read: bytesRead });
    context.emit({ type: 'pass-end', bytesRead });
  }
}

/** Deletes every checkpoint this sweep recorded except the best so far's and those in `keep`. */
async function removeSpentCheckpoints(context: SweepContext, keep: ReadonlySet<string>): Promise<void> {
  const best = bestSoFar(context)?.checkpoint ?? undefined;
  const spent = new Set(sweepRecords(context).flatMap((r) => (r.checkpoint === null ? [] : [r.checkpoint])));
  for (const path of spent) {
    if (path === best || keep.has(path)) continue;
    await rm(path, { force: true });
    context.removed.add(path);
  }
}

function chunk<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}
