import { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { gammaToSigmaRel, sigmaRelToGamma } from '../../phema/profile.js';
import { convertCheckpoint, snapshotMetadata, type SnapshotDescription } from '../../pytorch/convert-checkpoint.js';
import { catchInterrupts } from '../interrupt.js';
import { warn, type CliIo } from '../io.js';
import { formatByExtension } from '../../io/output-format.js';

/** convert writes safetensors only (an EDM2 pickle needs a template snapshot: reconstruct writes those). */
const CONVERT_FORMATS = { '.safetensors': 'safetensors' } as const;
import { parseTimeOption } from '../options.js';
import { basename } from 'node:path';
import { kimgToImages, parseSnapshotName } from '../../snapshots/snapshot-name.js';

interface ConvertFlags {
  key?: string;
  sigmaRel?: string;
  gamma?: string;
  time?: string;
  timeUnit?: string;
  force?: boolean;
}

export function convertCommand(io: CliIo): Command {
  return new Command('convert')
    .description('convert a PyTorch checkpoint (.pt/.pth, zip format) or an EDM2 snapshot pickle (.pkl) to a safetensors snapshot, without running its pickle')
    .argument('<in.pt>', 'PyTorch checkpoint written by torch.save (1.6 or newer), or EDM2 <prefix>-<kimg>-<std>.pkl (profile and time from the name)')
    .argument('<out.safetensors>', 'output file')
    .option('--key <key>', 'nested state dict to convert, e.g. ema or state_dict (a.b for deeper levels)')
    .option('--sigma-rel <S>', "the snapshot's EMA profile as relative width (written as ema_sigma_rel and ema_gamma)")
    .option('--gamma <G>', "the snapshot's EMA profile as power-function exponent")
    .option('--time <T>', 'training time the snapshot was taken at (ema_time)')
    .option('--time-unit <unit>', 'unit of --time, e.g. step or image (ema_time_unit)')
    .option('--force', 'replace an existing output file')
    .action(async (input: string, output: string, flags: ConvertFlags) => {
      formatByExtension(output, '', CONVERT_FORMATS, 'checkpoint');
      const description = withNameDefaults(input, parseDescription(flags));
      const metadata = snapshotMetadata(description);
      if ((description.sigmaRel === undefined) !== (description.time === undefined)) {
        warn(io, `${output} will lack ${description.time === undefined ? 'ema_time (--time)' : 'a profile (--sigma-rel or --gamma)'}; reconstruct needs both to use it as a snapshot`);
      }
      const interrupts = catchInterrupts();
      try {
        const result = await convertCheckpoint(input, output, {
          key: flags.key,
          metadata,
          force: flags.force ?? false,
          signal: interrupts.signal,
        });
        io.stdout.write(`wrote ${output}: ${result.tensors} tensors, ${result.bytes} bytes of tensor data\n`);
      } finally {
        interrupts.dispose();
      }
    });
}

function parseDescription(flags: ConvertFlags): SnapshotDescription {
  if (flags.sigmaRel !== undefined && flags.gamma !== undefined) {
    throw new UsageError('give --sigma-rel or --gamma, not both');
  }
  let sigmaRel: number | undefined;
  let gamma: number | undefined;
  if (flags.sigmaRel !== undefined) {
    sigmaRel = Number(flags.sigmaRel);
    try {
      gamma = sigmaRelToGamma(flags.sigmaRel.trim() === '' ? NaN : sigmaRel);
    } catch (error) {
      throw new UsageError(`--sigma-rel ${JSON.stringify(flags.sigmaRel)}: ${(error as Error).message}`);
    }
  }
  if (flags.gamma !== undefined) {
    gamma = Number(flags.gamma);
    try {
      sigmaRel = gammaToSigmaRel(flags.gamma.trim() === '' ? NaN : gamma);
    } catch (error) {
      throw new UsageError(`--gamma ${JSON.stringify(flags.gamma)}: ${(error as Error).message}`);
    }
  }
  if (flags.timeUnit !== undefined && !/^[A-Za-z][\w-]{0,31}$/.test(flags.timeUnit)) {
    throw new UsageError(`--time-unit ${JSON.stringify(flags.timeUnit)} must be a word such as step or image`);
  }
  return { sigmaRel, gamma, time: parseTimeOption(flags.time), timeUnit: flags.timeUnit };
}

/** An EDM2 pickle named <prefix>-<kimg>-<std>.pkl says its profile and time (in images); flags still win. */
function withNameDefaults(input: string, description: SnapshotDescription): SnapshotDescription {
  const parsed = parseSnapshotName(basename(input));
  if (parsed === undefined || !input.toLowerCase().endsWith('.pkl')) return description;
  const fromName = description.sigmaRel === undefined && description.gamma === undefined;
  const time = description.time ?? kimgToImages(parsed.kimg);
  return {
    sigmaRel: fromName ? parsed.sigmaRel : description.sigmaRel,
    gamma: fromName ? sigmaRelToGamma(parsed.sigmaRel) : description.gamma,
    time,
    timeUnit: description.timeUnit ?? (description.time === undefined && time !== undefined ? 'image' : undefined),
  };
}
