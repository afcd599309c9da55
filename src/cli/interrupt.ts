/**
 * Ctrl-C and SIGTERM during long work: the first signal aborts the work at its next checkpoint
 * (temporary outputs are removed by the writers' cleanup, exit 130/143); a second one removes
 * every temporary file at once and exits immediately.
 */
import { InterruptedError } from '../errors.js';
import { removeAllTempFiles } from '../io/temp-registry.js';

export interface InterruptScope {
  readonly signal: AbortSignal;
  dispose(): void;
}

export function catchInterrupts(): InterruptScope {
  const controller = new AbortController();
  const handler = (name: 'SIGINT' | 'SIGTERM'): void => {
    if (controller.signal.aborted) {
      removeAllTempFiles();
      process.exit(name === 'SIGINT' ? 130 : 143);
    }
    controller.abort(new InterruptedError(name));
  };
  const onInt = (): void => handler('SIGINT');
  const onTerm = (): void => handler('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
  };
}
