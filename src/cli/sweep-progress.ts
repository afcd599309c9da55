/**
 * Renders the sweep's events on stderr: the reconstruction pass (bytes, throughput, ETA), then
 * evaluations (done/total, best so far), then refinement steps. Notes are warnings, always shown.
 */
import type { SweepEvent } from '../sweep/sweep-settings.js';
import { formatEvalProgress } from '../sweep/eval-progress.js';
import { warn, type CliIo } from './io.js';
import { startProgress, type Progress } from './progress.js';

export function sweepProgress(io: CliIo, options: { quiet: boolean }): { onEvent: (event: SweepEvent) => void; stop: () => void } {
  let pass: Progress | undefined;
  let evaluation: Progress | undefined;
  const finish = (): void => {
    pass?.done();
    evaluation?.done();
    pass = undefined;
    evaluation = undefined;
  };
  return {
    onEvent(event) {
      switch (event.type) {
        case 'note':
          warn(io, event.message);
          break;
        case 'pass-start':
          finish();
          pass = startProgress(io, { label: `${event.phase === 'grid' ? 'reconstructing' : 'refining:'} ${event.targets} target(s) in one pass${event.group ? ` (group ${event.group.index} of ${event.group.count})` : ''}`, total: event.totalBytes, unit: 'bytes', quiet: options.quiet });
          break;
        case 'pass-progress':
          pass?.update(event.bytesRead);
          break;
        case 'pass-end':
          finish();
          break;
        case 'eval':
          if (evaluation === undefined && event.event.type === 'started') {
            evaluation = startProgress(io, { label: 'evaluating', total: 0, unit: 'items', quiet: options.quiet });
          }
          if (event.event.type === 'finished') evaluation?.update(event.event.done, formatEvalProgress(event.event));
          // A retried job (a preempted cluster job) is worth a line of its own, spinner or not.
          if (event.event.type === 'retrying') warn(io, formatEvalProgress(event.event));
          break;
        case 'refine':
          finish();
          break;
      }
    },
    stop: finish,
  };
}
