/**
 * Progress on stderr with an ora spinner: counts, throughput and ETA. Only when stderr is a
 * terminal (with a width) and no JSON was asked for; otherwise silent, so logs and pipes stay clean.
 *
 * ora (with its dependencies) takes about 150 ms to import, a third of the CLI's start-up, so it
 * is imported only when a spinner is shown, in the background: the spinner appears a moment after
 * the work starts, and the work never waits for it.
 */
import type { Ora } from 'ora';
import { canDrawSpinner, type CliIo } from './io.js';
import { formatBytes, formatDuration } from './format.js';

export interface Progress {
  update(done: number, detail?: string): void;
  done(message?: string): void;
  fail(): void;
}

export interface ProgressOptions {
  readonly label: string;
  readonly total: number;
  readonly unit: 'bytes' | 'items';
  readonly quiet?: boolean;
}

const REFRESH_MS = 100;

export function startProgress(io: CliIo, options: ProgressOptions): Progress {
  const enabled = !options.quiet && canDrawSpinner(io.stderr);
  if (!enabled) return { update: () => undefined, done: () => undefined, fail: () => undefined };
  const spinner = lazySpinner(io.stderr as NodeJS.WritableStream, options.label);
  const started = Date.now();
  let lastRender = 0;
  const amount = (n: number): string => (options.unit === 'bytes' ? formatBytes(n) : String(n));
  return {
    update(done, detail) {
      const now = Date.now();
      if (now - lastRender < REFRESH_MS && done < options.total) return;
      lastRender = now;
      if (options.total <= 0) {
        // Unknown total: the caller's detail says everything (e.g. "evaluated 3/8, best ...").
        spinner.text = detail ?? `${options.label} ${amount(done)}`;
        return;
      }
      const elapsed = (now - started) / 1000;
      const fraction = options.total > 0 ? done / options.total : 1;
      const eta = fraction > 0 ? (elapsed * (1 - fraction)) / fraction : Number.NaN;
      const rate = options.unit === 'bytes' && elapsed > 0 ? `, ${formatBytes(done / elapsed)}/s` : '';
      spinner.text = `${options.label} ${amount(done)}/${amount(options.total)} (${Math.floor(fraction * 100)}%${rate}), ETA ${formatDuration(eta)}${detail ? `, ${detail}` : ''}`;
    },
    done(message) {
      spinner.succeed(message ?? `${options.label} done in ${formatDuration((Date.now() - started) / 1000)}`);
    },
    fail() {
      spinner.stop();
    },
  };
}

/** The part of ora's spinner used here, usable before ora has loaded. */
interface LazySpinner {
  text: string;
  succeed(message: string): void;
  stop(): void;
}

function lazySpinner(stream: NodeJS.WritableStream, text: string): LazySpinner {
  let spinner: Ora | undefined;
  let ended = false;
  let current = text;
  void import('ora')
    // isEnabled: the decision is made by the caller (a terminal, not quiet); ora would otherwise also go quiet whenever CI is set.
    .then(({ default: ora }) => {
      if (!ended) spinner = ora({ stream, isEnabled: true, text: current, discardStdin: false }).start();
    })
    .catch(() => undefined);
  return {
    get text() {
      return current;
    },
    set text(value: string) {
      current = value;
      if (spinner !== undefined) spinner.text = value;
    },
    succeed(message) {
      ended = true;
      if (spinner !== undefined) spinner.succeed(message);
      // Finished before ora loaded: the same line a spinner would have left.
      else stream.write(`\u2714 ${message}\n`);
    },
    stop() {
      ended = true;
      spinner?.stop();
    },
  };
}
