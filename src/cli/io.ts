/**
 * The streams a command talks to. Injected so tests can run the CLI in-process and read what went
 * to stdout (results only) and stderr (progress, warnings, errors) separately.
 */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  /** A terminal's width; absent on pipes and files. */
  readonly columns?: number;
}

/**
 * Whether a spinner may be drawn on `stream`: a terminal that reports its width. A pseudo-terminal
 * of width 0 (`script`, some containers run with -t) would make ora's redraw clear lines forever.
 */
export function canDrawSpinner(stream: Pick<OutputStream, 'isTTY' | 'columns'>): boolean {
  return stream.isTTY === true && (stream.columns ?? 0) > 0;
}

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
