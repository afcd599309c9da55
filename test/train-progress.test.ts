import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { createProgressReporter, formatDuration } from '../src/train/progress-reporter.js';

/** Enough of a tty.WriteStream for ora: text, a width and no-op cursor moves. */
function fakeStream(isTTY: boolean, columns?: number) {
  return {
    isTTY, columns, text: '',
    write(text: string) { this.text += text; return true; },
    cursorTo: () => true, clearLine: () => true, moveCursor: () => true,
  };
}

const events = [
  { type: 'start', curNimg: 0, durationImages: 64, parameters: 10, resumed: false },
  { type: 'step', step: 1, curNimg: 8, loss: 1.25, lr: 0.01, imagesPerSecond: 4 },
  { type: 'done', nimg: 64, interrupted: false },
] as const;

describe('training progress', () => {
  test('a terminal gets a spinner with step, images/s, loss and ETA', () => {
    const stream = fakeStream(true, 100);
    const reporter = createProgressReporter(stream, { silent: false });
    for (const event of events) reporter.onEvent(event);
    reporter.stop();
    assert.match(stream.text, /step 1 · 8\/64 img · 4\.0 img\/s · loss 1\.2500 · ETA 14s/);
    assert.match(stream.text, /trained 64 images, last loss 1\.2500/);
  });

  test('pipes, --json and terminals without a width get nothing', () => {
    for (const [stream, silent] of [[fakeStream(false, 100), false], [fakeStream(true, 100), true], [fakeStream(true, 0), false]] as const) {
      const reporter = createProgressReporter(stream, { silent });
      for (const event of events) reporter.onEvent(event);
      reporter.stop();
      assert.equal(stream.text, '');
    }
  });

  test('durations read as seconds, minutes or hours', () => {
    assert.equal(formatDuration(14), '14s');
    assert.equal(formatDuration(125), '2m05s');
    assert.equal(formatDuration(7260), '2h01m');
    assert.equal(formatDuration(Number.POSITIVE_INFINITY), '?');
  });
});
