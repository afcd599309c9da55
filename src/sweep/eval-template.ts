import { UsageError } from '../errors.js';

/**
 * The `--eval-cmd` template: a shell command with placeholders for one reconstructed checkpoint.
 * Each value is quoted for the shell context its placeholder sits in (bare, inside '...', inside
 * "..."), found by scanning the template's quotes, so a path with spaces, quotes or `$` stays one
 * literal argument however the user wrote `{file}`, `'{file}'`, `"{file}"` or `"--ckpt={file}"`.
 */

export const EVAL_PLACEHOLDERS = ['file', 'sigma_rel', 'gamma', 'time', 'seed'] as const;
export type EvalPlaceholder = (typeof EVAL_PLACEHOLDERS)[number];
/** `seed` (the repeat's index with --repeat) may be left out: it is then 0. */
export type EvalValues = Readonly<Record<Exclude<EvalPlaceholder, 'seed'>, string | number>> & { readonly seed?: number };

/**
 * `{name}` in lower case, not preceded by `$`, so `${HOME}` and awk's `'{print $2}'` are left alone.
 */
const PLACEHOLDER = /(?<!\$)\{([a-z_]+)\}/g;
const PLACEHOLDER_AT = /(?<!\$)\{([a-z_]+)\}/y;

/** Quotes `value` for POSIX sh; plain words (paths, numbers) are left readable. */
export function shellQuote(value: string): string {
  if (value !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Numbers are written in JavaScript's shortest round-trip form (0.11, not 0.11000000000000001). */
function formatValue(value: string | number): string {
  return typeof value === 'number' ? String(value) : value;
}

/**
 * Checks the template once, up front: it must not be empty and may use only known placeholders.
 * Throws UsageError naming `flag`.
 */
export function checkEvalTemplate(template: string, flag = '--eval-cmd'): void {
  if (template.trim() === '') {
    throw new UsageError(`${flag} is empty`, `give a command such as 'python fid.py --ckpt {file}'`);
  }
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1];
    if (!(EVAL_PLACEHOLDERS as readonly string[]).includes(name)) {
      throw new UsageError(
        `${flag} uses an unknown placeholder {${name}}`,
        `known placeholders: ${EVAL_PLACEHOLDERS.map((p) => `{${p}}`).join(', ')}`,
      );
    }
  }
}

function isPlaceholder(name: string): name is EvalPlaceholder {
  return (EVAL_PLACEHOLDERS as readonly string[]).includes(name);
}

/** `value` as it must be written inside a "..." string to stay literal. */
function escapeForDoubleQuotes(value: string): string {
  return value.replace(/[\\"$`]/g, (c) => `\\${c}`);
}

/** The command for one checkpoint: every known placeholder replaced by its quoted value. */
export function expandEvalTemplate(template: string, values: EvalValues): string {
  let out = '';
  let context: 'bare' | 'single' | 'double' = 'bare';
  let i = 0;
  while (i < template.length) {
    PLACEHOLDER_AT.lastIndex = i;
    const match = PLACEHOLDER_AT.exec(template);
    if (match !== null && isPlaceholder(match[1])) {
      const value = formatValue(values[match[1]] ?? 0);
      if (context === 'bare') out += shellQuote(value);
      else if (context === 'single') out += value.replace(/'/g, `'\\''`);
      else out += escapeForDoubleQuotes(value);
      i += match[0].length;
      continue;
    }
    const c = template[i];
    if (c === '\\' && context !== 'single') {
      out += template.slice(i, i + 2); // an escaped character never opens or closes a quote
      i += 2;
      continue;
    }
    if (c === "'" && context !== 'double') context = context === 'single' ? 'bare' : 'single';
    else if (c === '"' && context !== 'single') context = context === 'double' ? 'bare' : 'double';
    out += c;
    i += 1;
  }
  return out;
}
