import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EmaSynthError } from '../errors.js';
import { processIo, type CliIo } from './io.js';
import { commandFactories } from './commands/index.js';
import { excessArgumentsHint } from './usage-hints.js';

/** Builds the program; each subcommand lives in its own file under ./commands. */
export function buildProgram(io: CliIo): Command {
  const program = new Command('ema-synth')
    .description('Post-hoc EMA reconstruction of model weights (EDM2): reconstruct, sweep, train.')
    .version(packageVersion())
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  for (const create of commandFactories) {
    const command = create(io);
    command.exitOverride();
    command.configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
    program.addCommand(command);
  }
  return program;
}

/**
 * Runs the CLI and returns the exit code. The one place that turns errors into exit codes:
 * our own errors print one `error:` line (and a `hint:`), commander's usage errors exit 2,
 * anything else is a bug and keeps its stack.
 */
export async function run(argv: string[], io: CliIo = processIo()): Promise<number> {
  try {
    await buildProgram(io).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version output are not failures; commander already printed its message.
      if (error.exitCode === 0) return 0;
      const hint = error.code === 'commander.excessArguments' ? excessArgumentsHint(argv) : undefined;
      if (hint !== undefined) io.stderr.write(`hint: ${hint}\n`);
      return 2;
    }
    if (error instanceof EmaSynthError) {
      io.stderr.write(`error: ${error.message}\n`);
      if (error.hint) io.stderr.write(`hint: ${error.hint}\n`);
      return error.exitCode;
    }
    io.stderr.write(`internal error (please report): ${error instanceof Error ? error.stack : String(error)}\n`);
    return 70;
  }
}

/** The version in package.json (two folders up from both src/cli and dist/cli), so it is stated once. */
function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
