import { Command } from 'commander';
import { inspectSnapshots } from '../../inspect/inspect-snapshots.js';
import { parseTargets, type TargetFlags } from '../../reconstruct/targets.js';
import { addTargetKindOptions } from '../target-options.js';
import { discoverSnapshots } from '../../snapshots/discover.js';
import { warn, type CliIo } from '../io.js';
import { parseTimeOption } from '../options.js';
import { renderInspection } from '../inspect-report.js';
import { sparseUpdateWarning } from '../../snapshots/sparse-update-warning.js';
import { addSnapshotOptions, parseSnapshotFlags, type SnapshotFlags } from '../snapshot-options.js';

/** sigma_rel 0.01 to 0.28: from far narrower than usual tracking to nearly the widest possible. */
const DEFAULT_GRID = '0.01,0.02,...,0.28';

export function inspectCommand(io: CliIo): Command {
  const command = new Command('inspect')
    .description('describe a snapshot folder and show which EMA lengths it can reconstruct well (headers only)')
    .argument('<snapshot-dir>', 'folder of snapshots: .safetensors, or EDM2 .pkl')
    .option('--sigma-rel <list>', `targets to report the fit error for (default ${DEFAULT_GRID} when no target is given)`)
    .option('--gamma <list>', 'targets as power-function exponents instead');
  addTargetKindOptions(command)
    .option('--time <T>', 'time to evaluate the fit at (default: the latest snapshot)')
    .option('--json', 'print one JSON document');
  return addSnapshotOptions(command)
    .action(async (dir: string, flags: SnapshotFlags & TargetFlags & { time?: string; json?: boolean }) => {
      const given = [flags.sigmaRel, flags.gamma, flags.beta, flags.halfLife, flags.window].some((f) => f !== undefined);
      const grid = parseTargets(given ? flags : { sigmaRel: DEFAULT_GRID });
      const time = parseTimeOption(flags.time);
      const snapshotSettings = parseSnapshotFlags(flags);
      const set = await discoverSnapshots(dir, snapshotSettings.discovery);
      for (const note of set.notes) warn(io, note);
      const sparse = sparseUpdateWarning(set, snapshotSettings.convention, snapshotSettings.givenUpdateEvery);
      if (sparse !== undefined) warn(io, sparse);
      const inspection = inspectSnapshots(set, grid, time, snapshotSettings.convention, { updateEvery: snapshotSettings.givenUpdateEvery });
      io.stdout.write(flags.json ? `${JSON.stringify(inspection, null, 2)}\n` : renderInspection(inspection));
    });
}
