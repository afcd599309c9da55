import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { reconstructCommand } from './reconstruct.js';
import { inspectCommand } from './inspect.js';
import { sweepCommand } from './sweep.js';
import { convertCommand } from './convert.js';
import { trainCommand } from './train.js';
import { sampleCommand } from './sample.js';
import { evaluateCommand } from './evaluate.js';
import { planCommand } from './plan.js';
import { pruneCommand } from './prune.js';

/**
 * Every subcommand, in the order `--help` lists them. Each file under this folder exports one
 * factory; heavy modules (tfjs) are imported inside the action, never at the top, so that
 * `ema-synth reconstruct --help` stays fast.
 */
export const commandFactories: ReadonlyArray<(io: CliIo) => Command> = [
  reconstructCommand,
  inspectCommand,
  sweepCommand,
  convertCommand,
  trainCommand,
  sampleCommand,
  evaluateCommand,
  planCommand,
  pruneCommand,
];
