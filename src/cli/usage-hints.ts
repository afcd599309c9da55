/**
 * Hints for the usual command-line slips that commander reports without one. The commonest:
 * a list given as separate words (`--sigma-rel 0.05 0.06`), which commander sees as an option value
 * followed by stray arguments ("too many arguments").
 */

/** Options whose value is a comma-separated list. */
const LIST_FLAGS = ['--sigma-rel', '--gamma', '--beta', '--half-life', '--window', '--profiles', '--profile-gammas', '--ema-sigma-rel', '--sigmas'];
/** A number, or a percentage (`--half-life 5% 10%`). */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?%?,?$/;

/** For "too many arguments": the comma-separated form of a list given as separate words, if any. */
export function excessArgumentsHint(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length - 2; i++) {
    const [flag, inline] = argv[i].split('=', 2) as [string, string | undefined];
    if (!LIST_FLAGS.includes(flag)) continue;
    const first = inline ?? argv[i + 1];
    const start = inline === undefined ? i + 2 : i + 1;
    let end = start;
    while (end < argv.length && NUMBER.test(argv[end])) end++;
    if (end === start) continue;
    const values = [first, ...argv.slice(start, end)].map((v) => v.replace(/,$/, '')).join(',');
    return `${flag} takes one comma-separated list, without spaces: ${flag} ${values}`;
  }
  return undefined;
}
