/**
 * Options every command that reads a snapshot folder shares: PyTorch state-dict key, the profile
 * list of ema-pytorch folders, the convention to follow, and what to do with bad files. Parsed
 * once into typed values; the ema-pytorch sparse-update warning lives here too.
 */
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';
import { MAX_SIGMA_REL } from '../phema/profile.js';
import type { ProfileList } from '../pytorch/ema-pytorch-convention.js';
import type { Convention } from '../reconstruct/plan.js';
import type { DiscoveryOptions } from '../snapshots/discover.js';
import { parsePositiveInteger } from './options.js';

export interface SnapshotFlags {
  key?: string;
  profiles?: string;
  profileGammas?: string;
  match?: 'exact' | 'ema-pytorch';
  updateEvery?: string;
  skipInvalid?: boolean;
  prefix?: string;
}

export interface SnapshotSettings {
  readonly discovery: DiscoveryOptions;
  readonly convention: Convention;
  /**
   * --update-every as given (undefined when not given). Above 1 the solve uses the ema-pytorch
   * snapshots' realised profiles; not given, the nominal ones with a warning.
   */
  readonly givenUpdateEvery: number | undefined;
}

export function addSnapshotOptions(command: Command): Command {
  return command
    .option('--key <name>', 'PyTorch checkpoints: the nested dict holding the state dict (e.g. ema, state_dict, or a.b); EDM2 pickles: the network entry (default ema)')
    .option('--prefix <name>', 'use only snapshots named <name>-<kimg>-<std> (e.g. network-snapshot), when a folder holds several runs')
    .option('--profiles <list>', 'ema-pytorch folders: the sigma_rels given to PostHocEMA, in order (file <index>.<step>.pt has profile <index>)')
    .option('--profile-gammas <list>', 'ema-pytorch folders: the gammas given to PostHocEMA instead')
    .addOption(new Option('--match <convention>', 'follow another tool\'s conventions exactly (ema-pytorch: no normalisation, time = step label, all files used)').choices(['exact', 'ema-pytorch']).default('exact'))
    .option('--update-every <k>', 'ema-pytorch folders: the update_every the training used (not recorded in the files); above 1 the solve uses the snapshots\' realised profiles')
    .option('--skip-invalid', 'skip unreadable or inconsistent snapshot files (with a warning) instead of stopping');
}

export function parseSnapshotFlags(flags: SnapshotFlags): SnapshotSettings {
  if (flags.profiles !== undefined && flags.profileGammas !== undefined) throw new UsageError('give --profiles or --profile-gammas, not both');
  let profiles: ProfileList | undefined;
  if (flags.profiles !== undefined) {
    const values = parseOrderedList('--profiles', flags.profiles);
    const bad = values.find((v) => !(v > 0 && v < MAX_SIGMA_REL));
    if (bad !== undefined) throw new UsageError(`--profiles: sigma_rel ${bad} is outside (0, ${MAX_SIGMA_REL.toFixed(6)})`);
    profiles = { kind: 'sigma_rel', values };
  } else if (flags.profileGammas !== undefined) {
    const values = parseOrderedList('--profile-gammas', flags.profileGammas);
    const bad = values.find((v) => !(v > 0));
    if (bad !== undefined) throw new UsageError(`--profile-gammas: gamma ${bad} must be positive`);
    profiles = { kind: 'gamma', values };
  }
  const convention = flags.match ?? 'exact';
  const givenUpdateEvery = flags.updateEvery === undefined ? undefined : parsePositiveInteger('--update-every', flags.updateEvery);
  return {
    discovery: { key: flags.key, profiles, convention, skipInvalid: flags.skipInvalid, prefix: flags.prefix },
    convention,
    givenUpdateEvery,
  };
}

/** A list whose order matters (profile index = position): no sorting, no ranges. */
function parseOrderedList(flag: string, text: string): number[] {
  return text.split(',').map((item) => {
    const trimmed = item.trim();
    const value = Number(trimmed);
    if (trimmed === '' || !Number.isFinite(value)) throw new UsageError(`${flag} ${JSON.stringify(text)}: '${trimmed}' is not a number`);
    return value;
  });
}
