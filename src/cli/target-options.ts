/**
 * The target flags beyond --sigma-rel / --gamma that reconstruct, sweep and inspect share: classic
 * EMAs (--beta with --beta-every, --half-life) and tail windows (--window). Parsed by parseTargets.
 */
import type { Command } from 'commander';

export function addTargetKindOptions(command: Command): Command {
  return command
    .option('--beta <list>', 'classic constant-beta EMA(s): decay per EMA update, e.g. 0.9999 or 0.999,0.9999')
    .option('--beta-every <D>', 'time units per EMA update for --beta (default 1 when the snapshots count steps; required when they count images: the batch size)')
    .option('--half-life <list>', 'classic EMA(s) by half-life, in time units or as a percentage of the target time (e.g. 5000 or 1%,2%,...,20%)')
    .option('--window <list>', 'uniform average(s) of the last part of training, in time units or as a percentage (e.g. 20%)');
}
