import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { startProgress } from '../src/cli/progress.js';
import type { CliIo } from '../src/cli/io.js';

/** Enough of a tty.WriteStream for ora: text, a width and no-op cursor moves. */
function fakeIo(isTTY: boolean, columns = 120): CliIo & { stderr: { text: string } } {
  const stderr = {
    isTTY, columns, text: '',
    write(text: string) { this.text += text; return true; },
    cursorTo: () => true, clearLine: () => true, moveCursor: () => true,
  };
  return { stdout: { write: () => true }, stderr, env: {} };
}

/** Lets the background import of ora finish (it is cached after the first test that awaits it). */
async function oraLoaded(): Promise<void> {
  await import('ora');
  await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('command progress on stderr', () => {
  test('a terminal gets a spinner with counts, rate and ETA once ora has loaded', async () => {
    await oraLoaded();
    const io = fakeIo(true);
    const progress = startProgress(io, { label: 'blending', total: 1000, unit: 'items' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    progress.update(250);
    // ora redraws on its own timer (80 ms frames).
    await new Promise((resolve) => setTimeout(resolve, 250));
    progress.done();
    assert.match(io.stderr.text, /blending 250\/1000 \(25%\), ETA/);
    assert.match(io.stderr.text, /blending done in /);
  });

  test('work that ends before ora has loaded still leaves its final line', () => {
    const io = fakeIo(true);
    const progress = startProgress(io, { label: 'blending', total: 10, unit: 'items' });
    progress.done('blended 10 items');
    assert.equal(io.stderr.text, '\u2714 blended 10 items\n');
  });

  test('pipes, quiet runs (--json) and terminals that report no width get nothing', async () => {
    for (const [isTTY, quiet, columns] of [[false, false, 120], [true, true, 120], [true, false, 0]] as const) {
      const io = fakeIo(isTTY, columns);
      const progress = startProgress(io, { label: 'blending', total: 10, unit: 'items', quiet });
      progress.update(5);
      progress.done();
      await oraLoaded();
      assert.equal(io.stderr.text, '');
    }
  });
});
