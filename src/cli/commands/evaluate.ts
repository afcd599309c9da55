import { Command } from 'commander';
import type { CliIo } from '../io.js';

interface EvaluateFlags {
  data?: string; count: string; seed: string; sigmas?: string; batch: string; config?: string; backend: string; threads?: string; json?: boolean;
}

export function evaluateCommand(io: CliIo): Command {
  return new Command('evaluate')
    .description('validation denoising loss of a snapshot on held-out images (fixed noise levels and noise; lower is better)')
    .argument('<checkpoint>', 'a .safetensors snapshot written by train (or reconstructed from one)')
    .option('--data <folder|builtin:NAME>', 'evaluation data (default: the data the run trained on)')
    .option('--count <n>', 'held-out images to use (at most)', '256')
    .option('--seed <S>', 'noise seed', '0')
    .option('--sigmas <list>', 'noise levels (default 0.02,0.05,0.1,0.2,0.5,1,2,5,10)')
    .option('--batch <n>', 'images per network call', '32')
    .option('--config <name>', 'network preset, for files without ema_synth_network metadata')
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | wasm | cpu', 'auto')
    .option('--threads <n>', 'threads of native TensorFlow\'s own pool (--backend tensorflow; default: one per core)')
    .option('--json', 'print one JSON document (metric last)')
    .action(async (checkpoint: string, flags: EvaluateFlags) => {
      const parse = await import('../../train/cli-options.js');
      const { evaluateCheckpointFile } = await import('../../train/evaluate-run.js');
      const sigmas = parse.parseNumberList('--sigmas', flags.sigmas);
      if (sigmas !== undefined && !sigmas.every((s) => s > 0)) {
        const { UsageError } = await import('../../errors.js');
        throw new UsageError(`--sigmas ${flags.sigmas}: every noise level must be positive`);
      }
      const result = await evaluateCheckpointFile(checkpoint, {
        data: flags.data,
        count: parse.parseIntegerFlag('--count', flags.count, 1),
        seed: parse.parseIntegerFlag('--seed', flags.seed, 0),
        batch: parse.parseIntegerFlag('--batch', flags.batch, 1),
        sigmas,
        config: flags.config,
        backend: parse.parseBackend(flags.backend),
        threads: parse.parseIntegerFlag('--threads', flags.threads, 1),
      });
      // The metric is the last number printed in both forms, so `sweep --eval` can read it.
      if (flags.json) {
        const { metric, ...rest } = result;
        io.stdout.write(`${JSON.stringify({ ...rest, metric }, null, 2)}\n`);
        return;
      }
      const lines = [`checkpoint ${result.checkpoint}`, `data       ${result.data} (${result.images} held-out images, seed ${result.seed})`, '  sigma   weighted loss'];
      for (const { sigma, loss } of result.perSigma) lines.push(`  ${String(sigma).padEnd(7)} ${loss.toPrecision(6)}`);
      lines.push(`metric ${result.metric.toPrecision(8)}`);
      io.stdout.write(`${lines.join('\n')}\n`);
    });
}
