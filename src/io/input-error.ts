import { InputFileError } from '../errors.js';

/**
 * Turns a system error while reading `path` into an InputFileError in our words ("no such file"),
 * so users never see Node's raw texts (`ENOENT: no such file or directory, scandir ...`).
 * `action` says what was attempted, e.g. "cannot open" or "cannot list the folder".
 */
export function inputError(path: string, action: string, error: unknown, options: { hint?: string; kind?: PathKind } = {}): InputFileError {
  return new InputFileError(`${path}: ${action} (${describeReadError(error, options.kind)})`, options.hint, error);
}

/** What the path should be, so a missing one reads "no such folder" rather than "no such file". */
export type PathKind = 'file' | 'folder';

/** A short reason for a failed read: our words for the usual codes, the system's text otherwise. */
export function describeReadError(error: unknown, kind: PathKind = 'file'): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return `no such ${kind}`;
    case 'ENOTDIR': return kind === 'folder' ? 'not a folder' : 'a part of the path is not a folder';
    case 'EISDIR': return 'it is a folder, not a file';
    case 'EACCES':
    case 'EPERM': return 'permission denied';
    case 'ELOOP': return 'too many symbolic links';
    case 'EMFILE':
    case 'ENFILE': return 'too many open files';
    case 'EIO': return 'input/output error from the device';
    default: {
      // Node's texts start with the code ("EBUSY: resource busy, open 'x'"): keep only the words.
      const message = error instanceof Error ? error.message : String(error);
      return message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    }
  }
}
