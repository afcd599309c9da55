/**
 * The blend's window size (chunk-size.ts): unchanged up to two threads, growing with more threads
 * so that each keeps the share two threads get, and never past its memory budget. The budget is
 * checked against the engine's own layout (blend-memory.ts), not against the formula's constants.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blendSnapshots } from '../src/blend/blend.js';
import { planTensors } from '../src/blend/blend-plan.js';
import { planBlendLayout } from '../src/blend/blend-memory.js';
import { chunkElementsFor, MAX_BUDGET_BYTES, PER_THREAD_BUDGET_BYTES } from '../src/blend/chunk-size.js';
import { openSafetensors } from '../src/safetensors/reader.js';
import { writeSafetensorsFile } from '../src/safetensors/writer.js';

const MiB = 1024 * 1024;
const TARGETS = [1, 2, 3, 8, 32, 100, 1000];

/** The engine's memory for a window of F32 snapshots read in 3 sets of 8, K targets written as F32. */
function windowBytes(targets: number, elements: number, threads: number): number {
  return planBlendLayout({ targets, chunkElements: elements, rawBytes: elements * 4, outputBytes: elements * 4, threads, bufferSets: 3 }).totalBytes;
}

test('one and two threads keep the windows of before: 512 Ki elements, less when K x 12 bytes per element pass 96 MiB', () => {
  for (const threads of [1, 2]) {
    assert.equal(chunkElementsFor(1, threads), 512 * 1024);
    assert.equal(chunkElementsFor(8, threads), 512 * 1024);
    assert.equal(chunkElementsFor(32, threads), Math.floor((96 * MiB) / (12 * 32 + 96)));
    assert.equal(chunkElementsFor(100_000, threads), 16 * 1024);
  }
});

test('beyond two threads each thread keeps the share of one-target work two threads get', () => {
  // (K + 1) / 2 x elements per thread: 256 Ki with one target on 2 threads.
  const share = (targets: number, threads: number): number => ((targets + 1) / 2) * chunkElementsFor(targets, threads) / threads;
  assert.equal(share(1, 2), 256 * 1024);
  for (const threads of [3, 4, 8, 16]) assert.ok(share(1, threads) >= 256 * 1024 - threads, `K = 1, ${threads} threads: share ${share(1, threads)}`);
  assert.equal(chunkElementsFor(1, 16), 4 * 1024 * 1024);
  // Eight targets already give 16 threads their share in a bit under 1 Mi elements.
  assert.ok(share(8, 16) >= 256 * 1024 - 16 && chunkElementsFor(8, 16) < 1024 * 1024);
});

test('the window never shrinks as threads are added', () => {
  for (const targets of TARGETS) {
    let previous = 0;
    for (let threads = 1; threads <= 256; threads++) {
      const elements = chunkElementsFor(targets, threads);
      assert.ok(elements >= previous, `K = ${targets}: ${threads} threads give ${elements} < ${previous}`);
      previous = elements;
    }
  }
});

test('the memory a window takes grows by at most 28 MiB per thread beyond two and never passes 512 MiB', () => {
  for (const targets of TARGETS) {
    const before = windowBytes(targets, chunkElementsFor(targets, 2), 2);
    for (const threads of [3, 4, 8, 16, 64, 256]) {
      const bytes = windowBytes(targets, chunkElementsFor(targets, threads), threads);
      // Beyond the window's buffers: their alignment, each thread's decode scratch and the control words.
      const slack = threads * (64 * 1024 + 64) + 64 * (3 * 8 + 2 * targets + 4);
      assert.ok(bytes <= Math.max(before, Math.min(MAX_BUDGET_BYTES, 96 * MiB + (threads - 2) * PER_THREAD_BUDGET_BYTES)) + slack,
        `K = ${targets}, ${threads} threads: ${(bytes / MiB).toFixed(1)} MiB`);
    }
  }
  assert.equal(PER_THREAD_BUDGET_BYTES, 28 * MiB);
  assert.equal(MAX_BUDGET_BYTES, 512 * MiB);
});

test('the engine windows a blend by the threads it uses: 1.2 Mi elements are 3 windows on 2 threads, 2 on 3', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'blend-window-size-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const elements = 1_200_000;
  const paths = [0, 1].map((i) => join(dir, `s${i}.safetensors`));
  for (const [i, path] of paths.entries()) {
    await writeSafetensorsFile(path, [{ name: 'w', dtype: 'F16', shape: [elements], data: new Uint8Array(2 * elements).fill(0x3c - i) }]);
  }
  const sources = await Promise.all(paths.map((path) => openSafetensors(path)));
  t.after(() => Promise.all(sources.map((source) => source.close())));
  // One target: the engine writes each window's encoded output to the sink once.
  const windowsWritten = async (threads: number): Promise<number> => {
    let writes = 0;
    const sink = { write: async (): Promise<void> => { writes++; } };
    await blendSnapshots({ sources, weights: [[0.25, 0.75]], plan: planTensors(sources[0].tensors, 'same'), copySource: sources[1], sinks: [sink], threads });
    return writes;
  };
  assert.equal(chunkElementsFor(1, 2), 512 * 1024);
  assert.equal(chunkElementsFor(1, 3), 768 * 1024);
  assert.equal(await windowsWritten(2), 3);
  assert.equal(await windowsWritten(3), 2);
});
