/**
 * The sweep options for real runs (issue 18): the time grid, the disk bound, noisy metrics and
 * cluster retries. Declared and checked here, beside the command, so the command stays thin.
 */
import { Command } from 'commander';
import { UsageError } from '../errors.js';
import type { Evaluation, SweepSettings } from '../sweep/sweep-settings.js';
import type { KeepPolicy } from '../sweep/keep-policy.js';
import { parseTimeSpec } from '../sweep/time-grid.js';
import { parsePositiveInteger } from './options.js';

export interface ScaleFlags {
  time?: string;
  maxCheckpoints?: string;
  repeat: string;
  pruneMargin?: string;
  metric?: string;
  retries: string;
}

export type ScaleSettings = Pick<SweepSettings, 'times' | 'maxCheckpoints' | 'repeat' | 'pruneMargin' | 'metricName' | 'retries'>;

export function addScaleOptions(command: Command): Command {
  return command
    .option('--time <list>', "training time(s) to reconstruct at: a value, a list (4096,8192,...,32768), percentages of the run (25%,50%,...,100%), or 'all' snapshot times; each length x time pair is one target (default: the latest snapshot)")
    .option('--max-checkpoints <N>', 'at most N reconstructed checkpoints on disk at once (plus the best so far): the grid is done in groups of N, one pass over the snapshots each')
    .option('--repeat <R>', 'evaluate each checkpoint R times with {seed} = 0..R-1; the metric is their mean, reported with its standard error', '1')
    .option('--prune-margin <m>', 'with --repeat: after the first two repeats, a target worse than the best by more than m standard errors gets no more')
    .option('--metric <name>', 'rank by the number after NAME= or NAME: in the command\'s output (all NAME=/NAME: values are kept in sweep.jsonl)')
    .option('--retries <N>', 'run a failed evaluation (a crashed or preempted cluster job) again up to N times', '0');
}

export function parseScaleFlags(flags: ScaleFlags, evaluation: Evaluation, keep: KeepPolicy): ScaleSettings {
  const command = evaluation.kind === 'command';
  const maxCheckpoints = flags.maxCheckpoints === undefined ? undefined : parsePositiveInteger('--max-checkpoints', flags.maxCheckpoints);
  if (maxCheckpoints !== undefined && evaluation.kind === 'none') {
    throw new UsageError('--max-checkpoints needs an evaluation (--eval-cmd or --eval builtin): without one, checkpoints are only written to be kept', 'use reconstruct in batches, or --keep all without --max-checkpoints');
  }
  if (maxCheckpoints !== undefined && keep === 'all') throw new UsageError('--max-checkpoints and --keep all contradict each other', 'drop one of them');
  const repeat = parsePositiveInteger('--repeat', flags.repeat);
  if (repeat > 1 && !command) throw new UsageError('--repeat needs --eval-cmd', evaluation.kind === 'builtin' ? 'the built-in validation loss is deterministic: repeats would all agree' : undefined);
  let pruneMargin: number | undefined;
  if (flags.pruneMargin !== undefined) {
    pruneMargin = Number(flags.pruneMargin);
    if (flags.pruneMargin.trim() === '' || !(pruneMargin > 0) || !Number.isFinite(pruneMargin)) throw new UsageError(`--prune-margin ${JSON.stringify(flags.pruneMargin)} must be a positive number of standard errors`);
    if (repeat < 3) throw new UsageError('--prune-margin needs --repeat 3 or more: it stops repeats after the first two');
  }
  const metric = flags.metric?.trim();
  if (metric !== undefined && !/^[A-Za-z][\w.\-/]*$/.test(metric)) throw new UsageError(`--metric ${JSON.stringify(flags.metric)} is not a metric name`, 'a name as the command prints it before = or :, e.g. --metric fid50k_full');
  if (metric !== undefined && !command) throw new UsageError('--metric needs --eval-cmd');
  const retries = /^\d+$/.test(flags.retries.trim()) ? Number(flags.retries) : NaN;
  if (!Number.isSafeInteger(retries)) throw new UsageError(`--retries ${JSON.stringify(flags.retries)} must be a whole number (0 or more)`);
  if (retries > 0 && !command) throw new UsageError('--retries needs --eval-cmd');
  return { times: parseTimeSpec(flags.time), maxCheckpoints, repeat, pruneMargin, metricName: metric, retries };
}
