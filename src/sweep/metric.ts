/**
 * The metric an evaluation command reports: the last number it prints on stdout.
 *
 * A number token is an optionally signed decimal (`3`, `-0.1447`, `.5`, `5.`) with an optional
 * exponent (`2.31e+00`), bounded on both sides by characters that cannot continue a word:
 * - `epoch3`, `v1.2`, `step-3`, `0x1F` and `3rd` hold no number (a letter, digit, underscore or a
 *   word's hyphen touches them), so a trailing log line such as `saved ckpt_epoch3` does not
 *   pose as a metric;
 * - `val_loss -0.1447`, `fid=2.31e+00`, `acc: 97.5%`, `{"fid": 2.3}` and `loss 0.25.` do.
 * `nan`, `inf`, `infinity` (any case, signed) are number tokens too, but not metrics: when the last
 * token is one of them (or overflows, `1e999`) there is no metric, so `epoch 5 val_loss nan` marks
 * the target failed instead of ranking it by the 5. ANSI colour codes are stripped first so that
 * a coloured `\x1b[32m0.5\x1b[0m` still reads as 0.5.
 */

// eslint-disable-next-line no-control-regex
const ANSI_ESCAPE = /\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

/**
 * Start: not preceded by a word character, `.`, or a sign (so `step-3` and `--3` give nothing).
 * End: not followed by a word character, nor by `.digit` (so `1.2.3` gives nothing either).
 */
const NUMBER_TOKEN =
  /(?<![\w.+-])[-+]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?|nan|inf(?:inity)?)(?![\w]|\.\d)/gi;

/** The last number token printed (as written), or undefined when stdout holds none. */
export function lastNumberToken(stdout: string): string | undefined {
  const tokens = stdout.replace(ANSI_ESCAPE, '').match(NUMBER_TOKEN);
  return tokens === null ? undefined : tokens[tokens.length - 1];
}

/** The metric: the last number token when it is finite, otherwise undefined. */
export function parseMetric(stdout: string): number | undefined {
  const token = lastNumberToken(stdout);
  if (token === undefined) return undefined;
  const value = Number(token);
  return Number.isFinite(value) ? value : undefined;
}
