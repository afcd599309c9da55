/**
 * The streams a command talks to. Injected so tests can run the CLI in-process and read what went
 * to stdout (results only) and stderr (progress, warnings, errors) separately.
 */
import type { OutputStream } from '../io/terminal.js';

export { canDrawSpinner, type OutputStream } from '../io/terminal.js';

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function processIo(): CliIo {
  // `ema-synth ... | head` closes the pipe early: that is the reader's choice, not an error.
  if (process.stdout.listenerCount('error') === 0) {
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      process.exit(process.exitCode ?? 0);
    });
  }
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Warnings go to stderr, one line each, prefixed so they stand out from results. */
export function warn(io: CliIo, message: string): void {
  io.stderr.write(`warning: ${message}\n`);
}
