/**
 * Errors a user can cause. Core code throws these; only the CLI's entry point catches them,
 * prints `error: ...` (and `hint: ...`) and turns them into an exit code. Anything else is a bug
 * and is printed with its stack.
 */
export class EmaSynthError extends Error {
  readonly exitCode: number;
  readonly hint?: string;

  constructor(message: string, options: { exitCode: number; hint?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.exitCode = options.exitCode;
    this.hint = options.hint;
  }
}

/** Bad flags or values on the command line (exit 2). */
export class UsageError extends EmaSynthError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: 2, hint });
  }
}

/** A file that cannot be read, parsed or used as asked (exit 1). */
export class InputFileError extends EmaSynthError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: 1, hint, cause });
  }
}

/** A failure to write an output (exit 1). */
export class OutputError extends EmaSynthError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: 1, hint, cause });
  }
}

/** A numerical problem that makes the result meaningless (exit 1). */
export class NumericalError extends EmaSynthError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: 1, hint, cause });
  }
}

/** Every evaluation of a sweep failed, so there is no result (exit 1). */
export class EvaluationError extends EmaSynthError {
  constructor(message: string, hint?: string) {
    super(message, { exitCode: 1, hint });
  }
}

/** The run was stopped by a signal; exit code 128 + signal number. */
export class InterruptedError extends EmaSynthError {
  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`, { exitCode: signal === 'SIGINT' ? 130 : 143 });
  }
}

/** A step of `npm run setup:tensorflow` failed: a missing tool, a failed download or build (exit 1). */
export class SetupError extends EmaSynthError {
  constructor(message: string, hint?: string, cause?: unknown) {
    super(message, { exitCode: 1, hint, cause });
  }
}
