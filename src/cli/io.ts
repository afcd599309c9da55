/**
 * The streams a command talks to. Injected so tests can run the CLI in-process and read what went
 * to stdout (results only) and stderr (progress, warnings, errors) separately.
 */
export interface OutputStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  readonly stdout: OutputStream;
  readonly stderr: OutputStream;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export function processIo(): CliIo {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env };
}

/** Warnings go to stderr, one line each, prefixed so they stand out from results. */
export function warn(io: CliIo, message: string): void {
  io.stderr.write(`warning: ${message}\n`);
}
