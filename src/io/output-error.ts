import { OutputError } from '../errors.js';

/** Turns a system error while writing `path` into an OutputError that says what happened and what to do. */
export function outputError(path: string, action: string, error: unknown): OutputError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const [reason, hint] = explain(code);
  const detail = reason ?? (error instanceof Error ? error.message : String(error));
  return new OutputError(`${path}: cannot ${action}: ${detail}`, hint, error);
}

function explain(code: string | undefined): [string | undefined, string | undefined] {
  switch (code) {
    case 'ENOSPC': return ['no space left on the device', 'free some disk space or write to another folder'];
    case 'EDQUOT': return ['disk quota exceeded', 'free some space or write to another folder'];
    case 'EFBIG': return ['file too large for this system (file size limit, e.g. `ulimit -f`)', 'raise the file size limit or write to another filesystem'];
    case 'EACCES':
    case 'EPERM': return ['permission denied', 'choose a folder you can write to'];
    case 'EROFS': return ['the filesystem is read-only', 'choose a writable folder'];
    case 'ENOENT': return ['the folder does not exist', 'create the folder first'];
    case 'ENOTDIR': return ['a part of the path is not a folder', undefined];
    case 'EISDIR': return ['the path is a folder', 'give a file name'];
    case 'EEXIST': return ['the file already exists', 'use --force to replace it'];
    case 'EIO': return ['input/output error from the device', undefined];
    default: return [undefined, undefined];
  }
}
