import { Command } from 'commander';
import { join } from 'node:path';
import { InterruptedError } from '../../errors.js';
import type { CliIo } from '../io.js';

interface TrainFlags {
  data?: string; out: string; config?: string; resolution?: string; batch?: string; duration?: string;
  snapshotEvery?: string; statusEvery?: string; emaSigmaRel?: string; lr?: string; refBatches?: string;
  rampupImages?: string; pMean?: string; pStd?: string; seed?: string; snapshotDtype?: string; net: string[];
  backend: string; workers: string; threads?: string; resume?: boolean; saveRaw?: boolean; force?: boolean; json?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function trainCommand(io: CliIo): Command {
  return new Command('train')
    .description('train the EDM2 magnitude-preserving UNet and write post-hoc EMA snapshots')
    .requiredOption('--out <run-dir>', 'run folder: snapshots/, raw/, checkpoint.safetensors, log.jsonl, config.json')
    .option('--data <folder|builtin:NAME>', 'a folder of same-size PNG/JPEG images, or builtin:shapes / builtin:shapes-gray')
    .option('--config <name>', 'run preset: tiny (8x8, 46 k parameters, about 0.05 s per step of 8 on wasm, 0.2-0.35 s on cpu) or small16 (16x16, 0.4 M parameters, about 0.7 s per step of 32 on wasm)')
    .option('--resolution <R>', 'image side (area-downsamples a folder; default: the images\' size, 8 or 16 for builtin)')
    .option('--batch <B>', 'images per step (tiny 8, small16 32)')
    .option('--duration <images>', 'training length in images, e.g. 8192, 8Ki, 2Mi')
    .option('--snapshot-every <images>', 'snapshot interval in images (multiple of the batch; multiples of 1024 get official names)')
    .option('--status-every <images>', 'log.jsonl interval in images (default: 1% of the run)')
    .option('--ema-sigma-rel <list>', 'tracked EMA profiles', '0.05,0.10')
    .option('--lr <ref-lr>', 'reference learning rate (default 0.01)')
    .option('--ref-batches <steps>', 'steps before the 1/sqrt(t) decay starts (default: 10% of the run)')
    .option('--rampup-images <images>', 'linear learning-rate ramp-up (default: 5% of the run; 0 = none)')
    .option('--p-mean <x>', 'mean of ln(sigma) during training (default -0.8)')
    .option('--p-std <x>', 'std of ln(sigma) during training (default 1.6)')
    .option('--net <key=value>', 'override a network field, e.g. modelChannels=32 (repeatable)', collect, [])
    .option('--snapshot-dtype <F32|F16>', 'element type of snapshot files', 'F32')
    .option('--seed <S>', 'random seed (initialisation, data order, noise)', '0')
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | wasm | cpu', 'auto')
    .option('--workers <n|auto>', 'gradient worker threads besides the main one (auto: one per extra core on wasm)', 'auto')
    .option('--threads <n>', 'threads of native TensorFlow\'s own pool (--backend tensorflow; default: one per core)')
    .option('--resume', 'continue the run in --out from its checkpoint')
    .option('--save-raw', 'also write the raw weights at every snapshot time to RUN_DIR/raw/')
    .option('--force', 'start over in a non-empty --out (removes the previous run\'s outputs)')
    .option('--json', 'print one JSON summary document')
    .action(async (flags: TrainFlags, command: Command) => {
      const parse = await import('../../train/cli-options.js');
      const { parseImageCount } = await import('../../train/train-config.js');
      const { trainRun } = await import('../../train/train-run.js');
      const { createProgressReporter } = await import('../../train/progress-reporter.js');
      const given = (name: string): boolean => command.getOptionValueSource(name) === 'cli';
      const count = (flag: string, text: string | undefined): number | undefined =>
        text === undefined ? undefined : parseImageCount(flag, text);
      const rampup = flags.rampupImages === '0' ? 0 : count('--rampup-images', flags.rampupImages);
      if (flags.snapshotDtype !== 'F32' && flags.snapshotDtype !== 'F16') {
        const { UsageError } = await import('../../errors.js');
        throw new UsageError(`--snapshot-dtype ${flags.snapshotDtype}: expected F32 or F16`);
      }
      const options = {
        data: flags.data,
        out: flags.out,
        preset: flags.config,
        resolution: parse.parseIntegerFlag('--resolution', flags.resolution, 1),
        batch: parse.parseIntegerFlag('--batch', flags.batch, 1),
        durationImages: count('--duration', flags.duration),
        snapshotEveryImages: count('--snapshot-every', flags.snapshotEvery),
        statusEveryImages: count('--status-every', flags.statusEvery),
        // Defaults count as "not given" so that --resume keeps the run's values.
        emaSigmaRel: given('emaSigmaRel') ? parse.parseNumberList('--ema-sigma-rel', flags.emaSigmaRel) : undefined,
        refLr: parse.parseNumberFlag('--lr', flags.lr),
        refBatches: parse.parseIntegerFlag('--ref-batches', flags.refBatches, 1),
        rampupImages: rampup,
        pMean: parse.parseNumberFlag('--p-mean', flags.pMean),
        pStd: parse.parseNumberFlag('--p-std', flags.pStd),
        seed: given('seed') ? parse.parseIntegerFlag('--seed', flags.seed, 0) : undefined,
        snapshotDtype: given('snapshotDtype') ? flags.snapshotDtype : undefined,
        network: flags.net.length > 0 ? parse.parseNetworkOverrides(flags.net) : undefined,
        backend: parse.parseBackend(flags.backend),
        workers: flags.workers === 'auto' ? undefined : parse.parseIntegerFlag('--workers', flags.workers, 0),
        threads: parse.parseIntegerFlag('--threads', flags.threads, 1),
        resume: flags.resume ?? false,
        saveRaw: flags.saveRaw ?? false,
        force: flags.force ?? false,
      } as const;
      const reporter = createProgressReporter(io.stderr, { silent: flags.json ?? false });
      const controller = new AbortController();
      let signal: 'SIGINT' | 'SIGTERM' | undefined;
      const onSignal = (name: 'SIGINT' | 'SIGTERM') => (): void => {
        signal = name;
        controller.abort();
      };
      const onInt = onSignal('SIGINT');
      const onTerm = onSignal('SIGTERM');
      process.once('SIGINT', onInt);
      process.once('SIGTERM', onTerm);
      let summary;
      try {
        summary = await trainRun(options, { onEvent: reporter.onEvent, signal: controller.signal });
      } finally {
        reporter.stop();
        process.removeListener('SIGINT', onInt);
        process.removeListener('SIGTERM', onTerm);
      }
      if (flags.json) {
        io.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      } else {
        io.stdout.write(
          `run folder   ${summary.runDir}\n` +
          `backend      ${summary.backend}${summary.workers > 0 ? ` (+${summary.workers} worker thread${summary.workers > 1 ? 's' : ''})` : ''}\n` +
          `trained      ${summary.curNimg} of ${summary.config.durationImages} images (batch ${summary.config.batch})\n` +
          `snapshots    ${summary.snapshotFiles} files in ${join(summary.runDir, 'snapshots')}\n` +
          `last loss    ${summary.lastLoss === undefined ? '-' : summary.lastLoss.toPrecision(6)}\n`,
        );
      }
      if (summary.interrupted && signal !== undefined) throw new InterruptedError(signal);
    });
}
