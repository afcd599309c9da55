/**
 * Renders training events: an ora spinner on stderr with step, images/s, loss and ETA, only when
 * stderr is a terminal (and not in --json mode). Results are not printed here.
 */
import ora, { type Ora } from 'ora';
import { canDrawSpinner, type OutputStream } from '../io/terminal.js';
import type { TrainEvent } from './loop.js';

export function createProgressReporter(stream: OutputStream, options: { silent: boolean }): {
  onEvent: (event: TrainEvent) => void;
  stop: () => void;
} {
  const enabled = !options.silent && canDrawSpinner(stream);
  let spinner: Ora | undefined;
  let total = 0;
  let averageRate: number | undefined;
  let lastLoss = NaN;
  const onEvent = (event: TrainEvent): void => {
    if (!enabled) return;
    switch (event.type) {
      case 'start':
        total = event.durationImages;
        // isEnabled: we already decided to show progress (a terminal, no --json); ora would otherwise go quiet whenever CI is set.
        spinner = ora({ stream: stream as NodeJS.WritableStream, isEnabled: true, text: `${event.resumed ? 'resuming' : 'starting'} at ${event.curNimg} images` }).start();
        break;
      case 'step': {
        // Smoothed rate for a steadier ETA.
        averageRate = averageRate === undefined ? event.imagesPerSecond : 0.9 * averageRate + 0.1 * event.imagesPerSecond;
        lastLoss = event.loss;
        const eta = (total - event.curNimg) / averageRate;
        if (spinner) {
          spinner.text = `step ${event.step} · ${event.curNimg}/${total} img · ${averageRate.toFixed(1)} img/s · loss ${lastLoss.toFixed(4)} · ETA ${formatDuration(eta)}`;
          spinner.render(); // show it now: the event loop may be busy with the next step
        }
        break;
      }
      case 'snapshot':
        if (spinner) spinner.suffixText = `(snapshot at ${event.nimg})`;
        break;
      case 'done':
        if (spinner) {
          if (event.interrupted) spinner.warn(`interrupted at ${event.nimg} images (checkpoint saved; continue with --resume)`);
          else spinner.succeed(`trained ${event.nimg} images, last loss ${lastLoss.toFixed(4)}`);
        }
        spinner = undefined;
        break;
      default:
        break;
    }
  };
  return { onEvent, stop: () => spinner?.stop() };
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
