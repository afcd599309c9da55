import { InputFileError } from '../errors.js';

/**
 * Which header rule a file broke. Kept as data (not only prose) so tests and the fuzzer can tell
 * the violations apart without matching message text.
 */
export type HeaderRule =
  | 'file-too-short'
  | 'header-length-zero'
  | 'header-length-too-large'
  | 'header-length-beyond-file'
  | 'invalid-utf8'
  | 'nesting-too-deep'
  | 'array-too-long'
  | 'invalid-json'
  | 'not-an-object'
  | 'duplicate-key'
  | 'bad-metadata'
  | 'bad-entry'
  | 'unknown-dtype'
  | 'bad-shape'
  | 'bad-offsets'
  | 'size-mismatch'
  | 'overlap'
  | 'gap'
  | 'truncated'
  | 'trailing-data';

/** A safetensors file whose header breaks the format; `rule` names the broken rule. */
export class SafetensorsHeaderError extends InputFileError {
  readonly rule: HeaderRule;
  readonly path: string;

  constructor(path: string, rule: HeaderRule, detail: string, hint?: string) {
    super(`${path}: invalid safetensors file: ${detail}`, hint ?? defaultHint(rule));
    this.rule = rule;
    this.path = path;
  }
}

function defaultHint(rule: HeaderRule): string | undefined {
  if (rule === 'truncated' || rule === 'header-length-beyond-file' || rule === 'file-too-short') {
    return 'the file looks truncated: if a training job is still writing it, wait for it to finish (or use --skip-invalid)';
  }
  return undefined;
}
