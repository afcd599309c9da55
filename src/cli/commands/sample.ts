import { Command } from 'commander';
import type { CliIo } from '../io.js';
import { imageFormatOf } from '../../io/output-format.js';

interface SampleFlags {
  out: string; count: string; steps: string; seed: string; batch: string; scale?: string;
  config?: string; backend: string; threads?: string; force?: boolean; json?: boolean;
}

export function sampleCommand(io: CliIo): Command {
  return new Command('sample')
    .description('draw images from a snapshot or reconstructed EMA with the EDM Heun sampler into a PNG or JPEG grid')
    .argument('<checkpoint>', 'a .safetensors snapshot written by train (or reconstructed from one)')
    .requiredOption('--out <grid.png>', 'image file to write: .png, or .jpg/.jpeg')
    .option('--count <n>', 'number of images', '64')
    .option('--steps <n>', 'sampler steps (2n - 1 network evaluations)', '32')
    .option('--seed <S>', 'noise seed; image i depends only on (seed, i)', '0')
    .option('--batch <n>', 'images per network call', '32')
    .option('--scale <k>', 'enlarge each pixel k times (default: grid at least 256 px wide)')
    .option('--config <name>', 'network preset, for files without ema_synth_network metadata')
    .option('--backend <name>', 'auto | tensorflow-gpu | tensorflow | wasm | cpu', 'auto')
    .option('--threads <n>', 'threads of native TensorFlow\'s own pool (--backend tensorflow; default: one per core)')
    .option('--force', 'replace an existing --out file')
    .option('--json', 'print one JSON document')
    .action(async (checkpoint: string, flags: SampleFlags) => {
      const format = imageFormatOf(flags.out);
      const parse = await import('../../train/cli-options.js');
      const { sampleRun } = await import('../../train/sample-run.js');
      const result = await sampleRun({
        checkpoint,
        out: flags.out,
        format,
        count: parse.parseIntegerFlag('--count', flags.count, 1)!,
        steps: parse.parseIntegerFlag('--steps', flags.steps, 1)!,
        seed: parse.parseIntegerFlag('--seed', flags.seed, 0)!,
        batch: parse.parseIntegerFlag('--batch', flags.batch, 1)!,
        scale: parse.parseIntegerFlag('--scale', flags.scale, 1),
        config: flags.config,
        backend: parse.parseBackend(flags.backend),
        threads: parse.parseIntegerFlag('--threads', flags.threads, 1),
        force: flags.force ?? false,
      });
      io.stdout.write(flags.json
        ? `${JSON.stringify(result, null, 2)}\n`
        : `wrote ${result.out} (${result.images} images, ${result.width}x${result.height} px, backend ${result.backend})\n`);
    });
}
