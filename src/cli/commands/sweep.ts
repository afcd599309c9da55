import { Command, Option } from 'commander';
import { resolve, relative, isAbsolute } from 'node:path';
import { EvaluationError, UsageError } from '../../errors.js';
import type { OutputDTypeChoice } from '../../blend/blend-plan.js';
import { parseTargets, type TargetFlags } from '../../reconstruct/targets.js';
import { addTargetKindOptions } from '../target-options.js';
import { checkEvalTemplate } from '../../sweep/eval-template.js';
import { runEvaluations } from '../../sweep/eval-runner.js';
import type { KeepPolicy } from '../../sweep/keep-policy.js';
import { plotFormatOf } from '../../sweep/plot.js';
import { renderSweepJson, renderSweepTable, useColor, type SweepReport } from '../../sweep/report.js';
import { lastLines } from '../../sweep/output-tail.js';
import { axisLabel, axisValue } from '../../sweep/sweep-axis.js';
import { checkOutputAvailable } from '../../io/atomic-output.js';
import { requireOutDir, runSweep, type Evaluator } from '../../sweep/run-sweep.js';
import type { Evaluation, SweepSettings } from '../../sweep/sweep-settings.js';
import { renderSweepChart } from '../../sweep/terminal-chart.js';
import { catchInterrupts } from '../interrupt.js';
import { warn, type CliIo } from '../io.js';
import { parsePositiveInteger, parseThreads } from '../options.js';
import { addScaleOptions, parseScaleFlags, type ScaleFlags } from '../sweep-scale-options.js';
import { renderPassesLine, renderScaleText, scaleJson } from '../sweep-scale-report.js';
import { sweepProgress } from '../sweep-progress.js';
import { loadBuiltinEvaluator } from '../builtin-evaluator.js';
import { addSnapshotOptions, parseSnapshotFlags, type SnapshotFlags } from '../snapshot-options.js';

interface SweepFlags extends SnapshotFlags, TargetFlags, ScaleFlags {
  evalCmd?: string; eval?: string; outDir?: string;
  keep?: KeepPolicy; refine: string; maximize?: boolean; jobs: string; plot?: string; json?: boolean;
  dtype: OutputDTypeChoice; force?: boolean; allowNonfinite?: boolean; threads?: string;
}

export function sweepCommand(io: CliIo): Command {
  const command = new Command('sweep')
    .description('reconstruct many EMA lengths in one pass, evaluate each, and report the best with a curve')
    .argument('<snapshot-dir>', 'folder of snapshots: .safetensors, or EDM2 .pkl')
    .option('--sigma-rel <list>', 'grid of EMA lengths, e.g. 0.02,0.03,...,0.25')
    .option('--gamma <list>', 'grid as power-function exponents instead');
  addTargetKindOptions(command)
    .option('--eval-cmd <cmd>', 'shell command scoring one checkpoint; {file} {sigma_rel} {gamma} {time} {seed} are substituted; the last number it prints is the metric')
    .addOption(new Option('--eval <kind>', 'built-in evaluation: the validation denoising loss of a run written by `ema-synth train`').choices(['builtin']))
    .option('--out-dir <dir>', 'where checkpoints and sweep.jsonl go (a rerun with the same folder resumes)')
    .addOption(new Option('--keep <which>', 'checkpoints kept after the sweep (default: best with an evaluation, none without)').choices(['best', 'all', 'none']))
    .option('--refine <N>', 'after the grid, N more targets placed around the best (golden-section/parabolic steps)', '0')
    .option('--maximize', 'higher metric is better (default: lower is better)')
    .option('--jobs <N>', 'evaluations run at once', '1')
    .option('--plot <file>', 'write a figure of the metric (or fit error) against sigma_rel (or the swept half-life, beta or window): .svg or .png')
    .addOption(new Option('--dtype <dtype>', 'dtype of blended tensors').choices(['same', 'f32', 'f16', 'bf16']).default('same'))
    .option('--force', 'replace existing checkpoints and plot')
    .option('--allow-nonfinite', 'blend snapshots holding NaN/Inf instead of stopping')
    .option('--threads <N>', 'most threads blending (default: EMA_SYNTH_THREADS, else one per core up to 16; fewer for small jobs)')
    .option('--json', 'print one JSON document instead of the table and chart');
  return addSnapshotOptions(addScaleOptions(command))
    .action(async (dir: string, flags: SweepFlags) => {
      const settings = checkSweepFlags(dir, flags, io.env);
      const ownsPlot = flags.plot !== undefined && settings.outDir !== undefined && isInside(settings.outDir, flags.plot);
      if (flags.plot !== undefined) {
        plotFormatOf(flags.plot);
        // Refused before any work, like every other output; a plot inside --out-dir is the sweep's own.
        if (!ownsPlot) await checkOutputAvailable(flags.plot, flags.force ?? false);
      }
      if (settings.repeat > 1 && settings.evaluation.kind === 'command' && !settings.evaluation.template.includes('{seed}')) {
        warn(io, `--repeat ${settings.repeat}: the --eval-cmd has no {seed}, so every repeat runs the same command; its results differ only if the command draws its own random seed`);
      }
      const evaluator = await makeEvaluator(settings);
      const progress = sweepProgress(io, { quiet: flags.json ?? false });
      const interrupts = catchInterrupts();
      let outcome;
      try {
        outcome = await runSweep(settings, evaluator, { signal: interrupts.signal, onEvent: progress.onEvent });
      } finally {
        progress.stop();
        interrupts.dispose();
      }
      reportFailures(io, outcome.report);
      io.stderr.write(renderPassesLine(outcome, settings));
      if (flags.plot !== undefined) {
        const { writeSweepPlot } = await import('../../sweep/plot.js');
        await writeSweepPlot(outcome.report, flags.plot, { force: flags.force || ownsPlot, metricName: settings.evaluation.kind === 'builtin' ? 'validation loss' : undefined });
      }
      if (flags.json) {
        io.stdout.write(renderSweepJson(outcome.report, {
          snapshot_dir: dir, time: outcome.times.length === 1 ? outcome.time : null, time_unit: outcome.timeUnit ?? null,
          snapshot_bytes: outcome.snapshotBytes, passes: outcome.passes, removed_checkpoints: outcome.removed, ...scaleJson(outcome),
        }));
      } else {
        const color = useColor(io.stdout, io.env);
        io.stdout.write(renderSweepTable(outcome.report, { color }));
        io.stdout.write(renderScaleText(outcome, settings));
        const chart = chartReport(outcome.report);
        if (chart !== outcome.report) io.stdout.write(`\nchart: time ${chart.targets[0]?.time} (the best's)`);
        io.stdout.write(`\n${renderSweepChart(chart, { color, width: chartWidth(io) })}`);
      }
      if (settings.evaluation.kind !== 'none' && outcome.report.best === null) {
        const failed = outcome.report.targets.filter((t) => t.status === 'failed').length;
        throw new EvaluationError(`no evaluation succeeded: ${failed} of ${outcome.report.targets.length} targets failed (their stderr is shown above)`,
          `run the evaluation by hand on one checkpoint to see why; a rerun of the same command retries the failed targets (results in ${settings.outDir}/sweep.jsonl)`);
      }
    });
}

/** Lines of a failed evaluation's stderr shown on ours: enough for a traceback's last words. */
const FAILURE_TAIL_LINES = 5;

/** Each failed target's reason and the end of its stderr, on stderr (the table shows the last line). */
function reportFailures(io: CliIo, report: SweepReport): void {
  // Named on the sweep's axis: `sigma_rel 0.05`, `half-life 5%`, ...
  for (const t of report.targets) {
    if (t.status !== 'failed') continue;
    const tail = t.stderr_tail === undefined ? [] : lastLines(t.stderr_tail, FAILURE_TAIL_LINES).split('\n').filter((l) => l.trim() !== '');
    const at = new Set(report.targets.map((x) => x.time)).size > 1 ? ` at time ${t.time}` : '';
    warn(io, `${axisLabel(report.axis, axisValue(t))}${at}: evaluation failed (${t.reason ?? 'unknown reason'})` +
      (tail.length === 0 ? '; it printed nothing on stderr' : `; the end of its stderr:\n${tail.map((l) => `  | ${l}`).join('\n')}`));
  }
}

function checkSweepFlags(dir: string, flags: SweepFlags, env: CliIo['env']): SweepSettings {
  const targets = parseTargets(flags);
  // One curve, one axis: sigma_rel (--sigma-rel or --gamma), or one of the other target flags.
  const axes = [flags.sigmaRel ?? flags.gamma, flags.beta, flags.halfLife, flags.window].filter((f) => f !== undefined).length;
  if (axes > 1) throw new UsageError('sweep one kind of target at a time: --sigma-rel/--gamma, --beta, --half-life or --window', 'the table and plot have one axis; run one sweep per kind');
  const snapshotSettings = parseSnapshotFlags(flags);
  if (flags.evalCmd !== undefined && flags.eval !== undefined) throw new UsageError('give --eval-cmd or --eval builtin, not both');
  if (flags.evalCmd !== undefined) checkEvalTemplate(flags.evalCmd);
  const evaluation: Evaluation = flags.evalCmd !== undefined ? { kind: 'command', template: flags.evalCmd }
    : flags.eval === 'builtin' ? { kind: 'builtin' } : { kind: 'none' };
  const evaluated = evaluation.kind !== 'none';
  const keep: KeepPolicy = flags.keep ?? (evaluated ? 'best' : 'none');
  if (keep === 'best' && !evaluated) throw new UsageError('--keep best needs an evaluation (--eval-cmd or --eval builtin)', 'use --keep all to keep every checkpoint');
  const refine = Number(flags.refine) === 0 ? 0 : parsePositiveInteger('--refine', flags.refine);
  if (refine > 0 && !evaluated) throw new UsageError('--refine needs an evaluation (--eval-cmd or --eval builtin)');
  if (refine > 0 && targets.some((t) => t.kind !== 'power')) throw new UsageError('--refine searches sigma_rel only; for --beta, --half-life or --window give a finer grid instead');
  const writes = evaluated || keep !== 'none';
  const outDir = writes ? requireOutDir(flags.outDir, evaluated ? 'to write the checkpoints to evaluate' : 'to keep checkpoints') : flags.outDir;
  return {
    dir, targets, evaluation, outDir, keep, refine, ...parseScaleFlags(flags, evaluation, keep),
    maximize: flags.maximize ?? false, jobs: parsePositiveInteger('--jobs', flags.jobs), dtype: flags.dtype,
    force: flags.force ?? false, allowNonFinite: flags.allowNonfinite ?? false, threads: parseThreads(flags.threads, env),
    discovery: snapshotSettings.discovery, convention: snapshotSettings.convention, givenUpdateEvery: snapshotSettings.givenUpdateEvery,
  };
}

async function makeEvaluator(settings: SweepSettings): Promise<Evaluator | undefined> {
  const evaluation = settings.evaluation;
  if (evaluation.kind === 'none') return undefined;
  if (evaluation.kind === 'builtin') {
    if (settings.maximize) throw new UsageError('--maximize does not apply to --eval builtin: the validation loss is lower-is-better');
    return loadBuiltinEvaluator();
  }
  return (tasks, hooks) => runEvaluations(tasks, {
    template: evaluation.template, jobs: settings.jobs, maximize: settings.maximize, signal: hooks.signal, onEvent: hooks.onEvent,
    metricName: settings.metricName, retries: settings.retries,
  });
}

/** The terminal chart draws one curve: with several times, the best cell's time. */
function chartReport(report: SweepReport): SweepReport {
  const times = new Set(report.targets.map((t) => t.time));
  if (times.size <= 1) return report;
  const time = report.best?.time ?? Math.max(...times);
  return { ...report, targets: report.targets.filter((t) => t.time === time) };
}

function isInside(folder: string, file: string): boolean {
  const path = relative(resolve(folder), resolve(file));
  return path !== '' && !path.startsWith('..') && !isAbsolute(path);
}

function chartWidth(io: CliIo): number {
  const columns = (io.stdout as { columns?: number }).columns;
  return Math.max(30, Math.min(100, (columns ?? 80) - 16));
}
