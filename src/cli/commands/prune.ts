import { Command } from 'commander';
import { InputFileError, UsageError } from '../../errors.js';
import { applyRemovals, MANIFEST_NAME, stampFiles } from '../../prune/apply-removals.js';
import { choosePrune } from '../../prune/choose-removals.js';
import type { PruneCriterion } from '../../prune/prune-criterion.js';
import { resolvePruneTimes } from '../../prune/prune-times.js';
import { parsePowerTargets } from '../../reconstruct/targets.js';
import { discoverSnapshots } from '../../snapshots/discover.js';
import { warn, type CliIo } from '../io.js';
import { parsePositiveInteger } from '../options.js';
import { pruneJson, renderPrune } from '../prune-report.js';
import { parseErrorIncrease, parseQuantity } from '../quantity-options.js';
import { addSnapshotOptions, parseSnapshotFlags, type SnapshotFlags } from '../snapshot-options.js';

interface PruneFlags extends SnapshotFlags {
  sigmaRel: string; times: string; maxFitErrorIncrease?: string; keep?: string; budget?: string;
  apply?: boolean; trash?: string; delete?: boolean; json?: boolean;
}

export function pruneCommand(io: CliIo): Command {
  const command = new Command('prune')
    .description('choose snapshots to delete without losing any EMA length (headers only; nothing is touched without --apply)')
    .argument('<snapshot-dir>', 'snapshot folder (any kind `reconstruct` reads)')
    .option('--sigma-rel <list>', 'EMA lengths that must stay reconstructable', '0.05,0.06,...,0.25')
    .option('--times <list>', "when: 'latest', 'all' (every snapshot time) or times / % of the latest time", 'latest')
    .option('--max-fit-error-increase <e>', 'remove while every fit error rises by at most e: 0.1pp (percentage points) or 10% (relative)')
    .option('--keep <N>', 'remove down to N files, with the smallest worst-case rise')
    .option('--budget <bytes>', 'remove until the files fit in this much disk, e.g. 100GB')
    .option('--apply', 'really remove the files (with --trash DIR or --delete)')
    .option('--trash <dir>', 'with --apply: move the files there (same filesystem; atomic renames)')
    .option('--delete', 'with --apply: delete the files')
    .option('--json', 'print one JSON document');
  return addSnapshotOptions(command).action(async (dir: string, flags: PruneFlags) => {
    const criterion = parseCriterion(flags);
    const mode = parseMode(flags);
    const settings = parseSnapshotFlags(flags);
    if (settings.convention !== 'exact') throw new UsageError('prune judges fits by the exact solve only; drop --match ema-pytorch');
    const targets = parsePowerTargets({ sigmaRel: flags.sigmaRel });
    const set = await discoverSnapshots(dir, settings.discovery);
    const stamps = await stampFiles(set.snapshots.map((s) => s.path));
    const growing = set.snapshots.find((s, i) => s.bytes !== stamps[i].size);
    if (growing !== undefined) throw new InputFileError(`${growing.path}: changed size while the folder was being read`, 'is training still writing to this folder? Run prune again once it has stopped');
    for (const note of set.notes) warn(io, note);
    let times: number[];
    try {
      times = resolvePruneTimes(flags.times, set.snapshots.map((s) => s.time));
    } catch (error) {
      throw new UsageError(`--times ${JSON.stringify(flags.times)}: ${(error as Error).message}`);
    }
    const choice = choosePrune(set.snapshots, targets, times, criterion);
    const report = { dir, timeUnit: set.timeUnit, criterion, choice, all: set.snapshots };
    const removedStamps = stamps.filter((_, i) => choice.removed.includes(set.snapshots[i]));
    let applied: { mode: 'trash' | 'delete'; trashDir: string | null; manifest: string } | null = null;
    if (mode !== undefined && removedStamps.length > 0) {
      const pause = Number(io.env.EMA_SYNTH_PRUNE_PAUSE_MS ?? 0);
      await applyRemovals(removedStamps, stamps, { snapshotDir: dir, mode: mode.kind, trashDir: mode.trashDir, details: pruneJson(report, null), pauseMs: pause > 0 ? pause : undefined });
      applied = { mode: mode.kind, trashDir: mode.trashDir ?? null, manifest: `${dir}/${MANIFEST_NAME}` };
    }
    io.stdout.write(flags.json ? `${JSON.stringify(pruneJson(report, applied), null, 2)}\n` : renderPrune(report, applied, mode !== undefined));
  });
}

function parseCriterion(flags: PruneFlags): PruneCriterion {
  const given = [flags.maxFitErrorIncrease, flags.keep, flags.budget].filter((f) => f !== undefined).length;
  if (given !== 1) throw new UsageError('give exactly one of --max-fit-error-increase, --keep and --budget', 'e.g. --max-fit-error-increase 0.1pp');
  if (flags.maxFitErrorIncrease !== undefined) return { kind: 'increase', increase: parseErrorIncrease('--max-fit-error-increase', flags.maxFitErrorIncrease) };
  if (flags.keep !== undefined) return { kind: 'keep', count: parsePositiveInteger('--keep', flags.keep) };
  return { kind: 'budget', bytes: parseQuantity('--budget', flags.budget!, true) };
}

function parseMode(flags: PruneFlags): { kind: 'trash' | 'delete'; trashDir?: string } | undefined {
  if (!flags.apply) {
    if (flags.trash !== undefined || flags.delete) throw new UsageError(`${flags.trash !== undefined ? '--trash' : '--delete'} does nothing without --apply`, 'run without them to see the choice, then add --apply');
    return undefined;
  }
  if ((flags.trash === undefined) === !flags.delete) throw new UsageError('--apply needs exactly one of --trash DIR and --delete');
  return flags.delete ? { kind: 'delete' } : { kind: 'trash', trashDir: flags.trash };
}
