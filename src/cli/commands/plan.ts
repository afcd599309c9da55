import { Command, Option } from 'commander';
import { UsageError } from '../../errors.js';
import { MAX_SIGMA_REL, sigmaRelToGamma } from '../../phema/profile.js';
import type { Spacing } from '../../phema/snapshot-schedule.js';
import { planCadences, type CadenceCandidate, type CadenceSpec, type TrackedProfile } from '../../plan/cadence-plan.js';
import { readRunSoFar, type RunSoFar } from '../../plan/plan-from-folder.js';
import { buildPlanPlotSpec } from '../../plan/plan-plot-spec.js';
import { plotFormatOf, writeVegaLitePlot } from '../../sweep/plot.js';
import { parsePowerTargets } from '../../reconstruct/targets.js';
import { warn, type CliIo } from '../io.js';
import { parsePositiveInteger } from '../options.js';
import { planJson, renderPlan, type PlanReport } from '../plan-report.js';
import { parseFraction, parseQuantity, parseTimesOfRun } from '../quantity-options.js';

interface PlanFlags {
  duration: string; sigmaRel: string; profiles?: string; snapshotSize?: string; budget?: string; maxFitError: string;
  times: string; every: string; spacing: Spacing; compareProfiles?: string; from?: string; batch: string;
  key?: string; skipInvalid?: boolean; json?: boolean; plot?: string; force?: boolean;
}

/** Every 0.5% to 25% of the run: from far denser than the paper's runs to four snapshots per profile. */
const DEFAULT_EVERY = '0.5%,1%,2%,3%,4%,5%,6%,8%,10%,12.5%,15%,20%,25%';
const DEFAULT_PROFILES = '0.05,0.10';

export function planCommand(io: CliIo): Command {
  return new Command('plan')
    .description('choose a snapshot cadence before training: snapshots, disk and fit errors per cadence (no files read unless --from)')
    .requiredOption('--duration <length>', 'length of the whole run in images (or steps): 2Gi, 500M, 100000')
    .option('--sigma-rel <list>', 'EMA lengths you may want afterwards', '0.05,0.06,...,0.25')
    .option('--profiles <list>', `tracked sigma_rels (default ${DEFAULT_PROFILES}; with --from: the folder's, and for an ema-pytorch folder the list given to PostHocEMA)`)
    .option('--snapshot-size <bytes>', 'size of one snapshot file, e.g. 3.1GB (with --from: the folder\'s mean)')
    .option('--budget <bytes>', 'disk the snapshots may take, e.g. 500GB')
    .option('--max-fit-error <e>', 'largest fit error acceptable for every target and time', '1%')
    .option('--times <list>', 'when you may want to reconstruct: % of the run or absolute times', '25%,50%,75%,100%')
    .option('--every <list>', 'candidate cadences: % of the run or absolute intervals (8Mi)', DEFAULT_EVERY)
    .addOption(new Option('--spacing <kind>', 'geometric: same number of snapshots, gaps shrinking 4x towards the end, compared with uniform').choices(['uniform', 'geometric']).default('uniform'))
    .option('--compare-profiles <sets>', "other tracked sets to tabulate too, ';'-separated: '0.05,0.10;0.03,0.15'")
    .option('--from <dir>', 'plan the rest of a run from its snapshot folder (profiles, time so far, file size)')
    .option('--batch <n>', 'round intervals to a multiple of the batch (a loop can only snapshot between steps)', '1')
    .option('--key <name>', 'with --from on PyTorch checkpoints: the nested dict holding the state dict')
    .option('--skip-invalid', 'with --from: skip unreadable snapshot files instead of stopping')
    .option('--json', 'print one JSON document')
    .option('--plot <file>', 'also draw worst fit error against snapshot count (.svg or .png)')
    .option('--force', 'replace an existing --plot file')
    .action(async (flags: PlanFlags) => {
      if (flags.plot !== undefined) plotFormatOf(flags.plot);
      const report = await buildPlan(flags, io);
      if (flags.plot !== undefined) {
        const title = `Snapshot cadence for a run of ${report.duration.toLocaleString('en-US')} ${report.timeUnit ?? 'images'}`;
        await writeVegaLitePlot(buildPlanPlotSpec(report.tables, report.spec.maxFitError, title), flags.plot, { force: flags.force });
      }
      io.stdout.write(flags.json ? `${JSON.stringify(planJson(report), null, 2)}\n` : renderPlan(report));
    });
}

async function buildPlan(flags: PlanFlags, io: CliIo): Promise<PlanReport> {
  const duration = Math.round(parseQuantity('--duration', flags.duration));
  const batch = parsePositiveInteger('--batch', flags.batch);
  const targets = parsePowerTargets({ sigmaRel: flags.sigmaRel });
  const run = flags.from === undefined ? undefined : await readRun(flags, io);
  if (run !== undefined && !(duration > run.timeSoFar)) {
    throw new UsageError(`--duration ${flags.duration}: the run in ${run.dir} is already at time ${run.timeSoFar}`, 'give the total length of the run, including what is done');
  }
  if (run !== undefined && flags.compareProfiles !== undefined) throw new UsageError('--compare-profiles cannot be used with --from: the folder\'s profiles are fixed');
  const snapshotBytes = flags.snapshotSize !== undefined ? parseQuantity('--snapshot-size', flags.snapshotSize, true) : run?.snapshotBytes;
  const budgetBytes = flags.budget === undefined ? undefined : parseQuantity('--budget', flags.budget, true);
  if (budgetBytes !== undefined && snapshotBytes === undefined) throw new UsageError('--budget needs --snapshot-size (the size of one snapshot file) to count disk');
  const start = run?.timeSoFar ?? 0;
  const candidates = parseTimesOfRun('--every', flags.every, duration).map(({ label, value }): CadenceCandidate => ({
    label, interval: Math.max(batch, Math.floor(value / batch) * batch),
  }));
  const times = parseTimesOfRun('--times', flags.times, duration).map(({ value }) => Math.round(value));
  const tooLate = times.find((t) => t > duration);
  if (tooLate !== undefined) throw new UsageError(`--times: ${tooLate} is after the end of the run (${duration})`);
  const base: Omit<CadenceSpec, 'tracked'> = {
    duration, start, existing: run?.existing ?? [], targets, times, candidates, spacing: flags.spacing,
    snapshotBytes, budgetBytes, maxFitError: parseFraction('--max-fit-error', flags.maxFitError),
  };
  const profileSets = run !== undefined ? [run.tracked]
    : [parseProfiles('--profiles', flags.profiles ?? DEFAULT_PROFILES), ...(flags.compareProfiles ?? '').split(';').filter((s) => s.trim() !== '').map((s) => parseProfiles('--compare-profiles', s))];
  return {
    duration, start, timeUnit: run?.timeUnit ?? null, from: run?.dir ?? null, cadenceSoFar: run?.cadenceSoFar ?? null,
    batch, spec: base, tables: profileSets.map((tracked) => ({ tracked, table: planCadences({ ...base, tracked }) })),
  };
}

async function readRun(flags: PlanFlags, io: CliIo): Promise<RunSoFar> {
  const profiles = flags.profiles === undefined ? undefined : { kind: 'sigma_rel' as const, values: parseProfiles('--profiles', flags.profiles, false).map((p) => p.sigmaRel) };
  const run = await readRunSoFar(flags.from!, { key: flags.key, profiles, skipInvalid: flags.skipInvalid });
  for (const note of run.notes) warn(io, note);
  return run;
}

/** Tracked sigma_rels; sorted unless the order is an ema-pytorch profile index. */
function parseProfiles(flag: string, text: string, sort = true): TrackedProfile[] {
  const values = text.split(',').map((item) => {
    const value = Number(item.trim());
    if (item.trim() === '' || !(value > 0 && value < MAX_SIGMA_REL)) {
      throw new UsageError(`${flag} ${JSON.stringify(text)}: '${item.trim()}' is not a sigma_rel in (0, ${MAX_SIGMA_REL.toFixed(6)})`);
    }
    return value;
  });
  if (new Set(values).size !== values.length) throw new UsageError(`${flag} ${JSON.stringify(text)}: a profile is listed twice`);
  if (sort) values.sort((a, b) => a - b);
  return values.map((sigmaRel) => ({ sigmaRel, gamma: sigmaRelToGamma(sigmaRel) }));
}
