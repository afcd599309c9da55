import { Command, Option } from 'commander';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { outputError } from '../../io/output-error.js';
import { checkpointFormatOf } from '../../io/output-format.js';
import { UsageError } from '../../errors.js';
import type { OutputDTypeChoice } from '../../blend/blend-plan.js';
import { fitWarnings } from '../../reconstruct/fit-warnings.js';
import { outputFileName } from '../../reconstruct/output-format.js';
import { planReconstruction, type ReconstructionPlan } from '../../reconstruct/plan.js';
import { parseTargets, type TargetFlags } from '../../reconstruct/targets.js';
import { checkOutputs, passBytes, writeReconstructions } from '../../reconstruct/write-reconstructions.js';
import { discoverSnapshots } from '../../snapshots/discover.js';
import { catchInterrupts } from '../interrupt.js';
import { warn, type CliIo } from '../io.js';
import { parseThreads, parseTimeOption } from '../options.js';
import { startProgress } from '../progress.js';
import { sparseUpdateWarning } from '../../snapshots/sparse-update-warning.js';
import { addSnapshotOptions, parseSnapshotFlags, type SnapshotFlags } from '../snapshot-options.js';
import { collectReconstructReport, renderReconstructTable } from '../reconstruct-report.js';
import { addTargetKindOptions } from '../target-options.js';

interface ReconstructFlags extends SnapshotFlags, TargetFlags {
  time?: string;
  out?: string;
  outDir?: string;
  outPrefix?: string;
  dtype: OutputDTypeChoice;
  force?: boolean;
  json?: boolean;
  dryRun?: boolean;
  allowNonfinite?: boolean;
  threads?: string;
}

export function reconstructCommand(io: CliIo): Command {
  const command = new Command('reconstruct')
    .description('synthesise the EMA of any length from a folder of snapshots and write it as a checkpoint')
    .argument('<snapshot-dir>', 'folder of snapshots: .safetensors, or EDM2 .pkl (two or more tracked EMA profiles)')
    .option('--sigma-rel <list>', 'target EMA length(s) as relative width, e.g. 0.08 or 0.05,0.06,...,0.15')
    .option('--gamma <list>', 'target EMA length(s) as power-function exponent, e.g. 6.94');
  addTargetKindOptions(command)
    .option('--time <T>', 'training time to reconstruct at (default: the latest snapshot)')
    .option('--out <file>', 'output file (one target)')
    .option('--out-dir <dir>', 'output folder (any number of targets; names show the target and time)')
    .option('--out-prefix <name>', 'EDM2 pickle inputs: output names <name>-<kimg>-<std>.pkl in --out-dir (default phema)')
    .addOption(new Option('--dtype <dtype>', 'dtype of blended tensors').choices(['same', 'f32', 'f16', 'bf16']).default('same'))
    .option('--force', 'replace existing output files')
    .option('--dry-run', 'solve and report only; write nothing')
    .option('--allow-nonfinite', 'blend snapshots holding NaN/Inf instead of stopping')
    .option('--threads <N>', 'most threads blending (default: EMA_SYNTH_THREADS, else one per core up to 16; fewer for small jobs)')
    .option('--json', 'print one JSON document (with every coefficient) instead of a table');
  return addSnapshotOptions(command)
    .action(async (dir: string, flags: ReconstructFlags) => {
      const targets = parseTargets(flags);
      const time = parseTimeOption(flags.time);
      const snapshotSettings = parseSnapshotFlags(flags);
      const threads = parseThreads(flags.threads, io.env);
      if (!flags.dryRun) checkOutputFlags(flags, targets.length);
      if (flags.outPrefix !== undefined && !/^[\w.-]+$/.test(flags.outPrefix)) throw new UsageError(`--out-prefix ${JSON.stringify(flags.outPrefix)} must be a plain name (letters, digits, ., _, -)`);
      const set = await discoverSnapshots(dir, snapshotSettings.discovery);
      for (const note of set.notes) warn(io, note);
      const sparse = sparseUpdateWarning(set, snapshotSettings.convention, snapshotSettings.givenUpdateEvery);
      if (sparse !== undefined) warn(io, sparse);
      const plan = planReconstruction(set, targets, time, snapshotSettings.convention, { updateEvery: snapshotSettings.givenUpdateEvery });
      const outputs = flags.dryRun ? targets.map(() => null)
        : flags.out !== undefined ? [flags.out]
        : plan.summaries.map((summary, j) => join(flags.outDir!, outputFileName(targets[j], summary.time, set.edm2Pickles, flags.outPrefix)));
      for (const summary of plan.summaries) for (const message of fitWarnings(plan, summary)) warn(io, message);
      if (!flags.dryRun) await writeOutputs(io, plan, outputs as string[], flags, threads);
      const report = collectReconstructReport(dir, plan, outputs);
      io.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : renderReconstructTable(report));
    });
}

function checkOutputFlags(flags: ReconstructFlags, targets: number): void {
  if (flags.out !== undefined && flags.outDir !== undefined) throw new UsageError('give --out or --out-dir, not both');
  if (flags.out === undefined && flags.outDir === undefined) {
    throw new UsageError('no output: give --out FILE (one target) or --out-dir DIR', 'or --dry-run to see the fit without writing');
  }
  if (flags.out !== undefined && targets > 1) {
    throw new UsageError(`--out names one file but ${targets} targets were given`, 'use --out-dir DIR for several targets');
  }
  if (flags.out !== undefined) checkpointFormatOf(flags.out);
}

async function writeOutputs(io: CliIo, plan: ReconstructionPlan, outputs: string[], flags: ReconstructFlags, threads: number | undefined): Promise<void> {
  // An --out-dir is ours to create, as sweep creates its own; the folder of an --out file must exist.
  if (flags.outDir !== undefined) await mkdir(flags.outDir, { recursive: true }).catch((error: unknown) => { throw outputError(flags.outDir!, 'create the output folder', error); });
  await checkOutputs(plan, outputs, flags.force ?? false);
  const progress = startProgress(io, { label: `blending ${plan.used.length} snapshots into ${outputs.length} output(s)`, total: passBytes(plan), unit: 'bytes', quiet: flags.json });
  const interrupts = catchInterrupts();
  try {
    await writeReconstructions(plan, outputs, {
      dtype: flags.dtype,
      force: flags.force ?? false,
      allowNonFinite: flags.allowNonfinite,
      threads,
      onProgress: (bytes) => progress.update(bytes),
      signal: interrupts.signal,
    });
    progress.done();
  } catch (error) {
    progress.fail();
    throw error;
  } finally {
    interrupts.dispose();
  }
}
