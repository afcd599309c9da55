/**
 * The blend split over N threads (issue 17): the bytes never depend on the thread count or on
 * which thread claimed which blocks, and a NaN is reported at the same (first) element whichever
 * thread meets it. The thread counts run oversubscribed on a 2-core machine, which is fine: only
 * the split is under test (and oversubscription varies who claims what from run to run).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blendSnapshots } from '../src/blend/blend.js';
import { BLOCK, createBlendMemory } from '../src/blend/blend-kernels.js';
import { planBlendLayout } from '../src/blend/blend-memory.js';
import { BlendHelpers } from '../src/blend/parallel.js';
import { planTensors } from '../src/blend/blend-plan.js';
import { DEFAULT_MAX_THREADS, defaultThreads, MIN_WORK_PER_THREAD, threadsForWork } from '../src/blend/thread-count.js';
import { claimBlocks, WorkControl } from '../src/blend/work-claims.js';
import { openSafetensors } from '../src/safetensors/reader.js';
import { elementCount, type DType } from '../src/tensors/tensor-source.js';
import { seededRandom } from './helpers/seeded-random.js';
import { expectedBlend, makeBlendSnapshots, MemorySink, type BlendFixture, type Poison } from './helpers/blend-fixture.js';

// Two blend windows around the I32 copy: 24,202 elements (24 blocks) and 9,798 (10 blocks), so that
// 8 threads each get whole blocks of a window; the odd F16 tensor first puts the others off their
// natural alignment in the file.
const LAYOUT: { name: string; dtype: DType; shape: number[] }[] = [
  { name: 'a.f16', dtype: 'F16', shape: [3] },
  { name: 'b.f32', dtype: 'F32', shape: [100, 201] },
  { name: 'c.bf16', dtype: 'BF16', shape: [4099] },
  { name: 'd.count', dtype: 'I32', shape: [5] },
  { name: 'e.f64', dtype: 'F64', shape: [777] },
  { name: 'f.f16', dtype: 'F16', shape: [9021] },
];
const SNAPSHOTS = 11; // a full batch of 8 and a remainder of 3
const FIRST_WINDOW = LAYOUT.slice(0, 3).reduce((sum, t) => sum + elementCount(t.shape), 0);

type Fixture = BlendFixture;

function makeSnapshots(t: { after(fn: () => void): void }, poison: readonly Poison[] = []): Promise<Fixture> {
  return makeBlendSnapshots(t, { layout: LAYOUT, snapshots: SNAPSHOTS, seed: 2024, pad: (i) => 'y'.repeat(3 * i), poison });
}

const expectedOutput = expectedBlend;

async function blend(fixture: Fixture, weights: number[][], chunkElements: number, threads: number, dtype: 'same' | 'f16' = 'same'): Promise<Uint8Array[]> {
  const sources = await Promise.all(fixture.paths.map((path) => openSafetensors(path)));
  const sinks = weights.map(() => new MemorySink());
  try {
    const plan = planTensors(sources[0].tensors, dtype);
    await blendSnapshots({ sources, weights, plan, copySource: sources[SNAPSHOTS - 1], sinks, chunkElements, threads });
  } finally {
    await Promise.all(sources.map((source) => source.close()));
  }
  return sinks.map((sink) => sink.bytes());
}

function weightRows(targets: number): number[][] {
  const next = seededRandom(7);
  // Target 1 has a zero weight (the one-snapshot-at-a-time path), the others take the paired kernels.
  return Array.from({ length: targets }, (_, k) => Array.from({ length: SNAPSHOTS }, (_, i) => (k === 1 && i === 6 ? 0 : next() * 2 - 0.7)));
}

test('the fixture has blocks enough for 8 threads in its first window', () => {
  assert.equal(LAYOUT[3].dtype, 'I32');
  assert.equal(Math.ceil(FIRST_WINDOW / BLOCK), 24);
});

test('3, 5 and 8 threads give the definition\'s bytes, for windows of every size', async (t) => {
  const fixture = await makeSnapshots(t);
  const weights = weightRows(3);
  const expected = weights.map((row) => expectedOutput(fixture, row, 'same'));
  // Windows as large as the layout allows (24 and 10 blocks), 9 blocks, under 3 blocks (fewer blocks than threads).
  for (const threads of [3, 5, 8]) {
    for (const chunk of [1 << 20, 9 * BLOCK, 3 * BLOCK - 5]) {
      const outputs = await blend(fixture, weights, chunk, threads);
      outputs.forEach((bytes, k) => assert.deepEqual(bytes, expected[k], `${threads} threads, target ${k}, window ${chunk}`));
    }
  }
});

test('outputs encoded to F16 by 5 threads equal the definition', async (t) => {
  const fixture = await makeSnapshots(t);
  const weights = weightRows(2);
  const outputs = await blend(fixture, weights, 1 << 20, 5, 'f16');
  outputs.forEach((bytes, k) => assert.deepEqual(bytes, expectedOutput(fixture, weights[k], 'f16'), `target ${k}`));
});

test('with NaNs in two threads\' shares, the first in element order is named, whatever the thread count', async (t) => {
  // In the first window: b.f32's element 16,000 is element 16,003 (block 15), c.bf16's element 2,000
  // is element 22,103 (block 21); with 5 or 8 threads the claims are single blocks, so the two are
  // met in separate claims, often by different threads, in either order. The later element is in
  // the earlier snapshot, which a search by file would find first.
  const fixture = await makeSnapshots(t, [{ snapshot: 2, tensor: 2, element: 2000 }, { snapshot: 8, tensor: 1, element: 16_000 }]);
  for (const threads of [1, 5, 8]) {
    await assert.rejects(blend(fixture, weightRows(2), 1 << 20, threads), /s8\.safetensors: tensor "b\.f32" holds NaN at element 16000/, `${threads} threads`);
  }
});

test('claims are whole blocks, at most 8, at least 4 per thread when the window has blocks enough', () => {
  assert.equal(claimBlocks(512 * BLOCK, 2), 8);
  assert.equal(claimBlocks(512 * BLOCK, 16), 8);
  assert.equal(claimBlocks(512 * BLOCK, 64), 2);
  assert.equal(claimBlocks(FIRST_WINDOW, 8), 1);
  assert.equal(claimBlocks(100, 3), 1);
});

test('a small job gets fewer threads, never fewer than one; the default stays within the memory bound', () => {
  assert.equal(threadsForWork(8, 0), 1);
  assert.equal(threadsForWork(8, MIN_WORK_PER_THREAD * 2 - 1), 1);
  assert.equal(threadsForWork(8, MIN_WORK_PER_THREAD * 2), 2); // today's threshold for two threads (2^26)
  assert.equal(threadsForWork(8, MIN_WORK_PER_THREAD * 5.5), 5);
  assert.equal(threadsForWork(8, MIN_WORK_PER_THREAD * 100), 8);
  assert.equal(threadsForWork(3, 100, 0), 3);
  assert.throws(() => threadsForWork(0, 1e12), RangeError);
  const threads = defaultThreads();
  assert.ok(threads >= 1 && threads <= DEFAULT_MAX_THREADS, String(threads));
});

test('helper workers alone do a whole batch through the claims: the definition\'s bytes, and the first NaN over all helpers', async (t) => {
  // The engine's main thread claims blocks too and, on a small window, often all of them before a
  // helper wakes; here it claims none, so every block is done by the three helpers.
  const elements = 20 * BLOCK + 300;
  const snapshots = 3;
  const targets = 2;
  const threads = 4;
  const layout = planBlendLayout({ targets, chunkElements: elements, rawBytes: elements * 4, outputBytes: elements * 4, threads, bufferSets: 1 });
  const memory = createBlendMemory(layout.totalBytes);
  const helpers = BlendHelpers.start(memory, layout.scratch.slice(1), layout.control);
  t.after(() => helpers.close());
  const control = new WorkControl(memory.buffer, layout.control, threads);
  const float64 = new Float64Array(memory.buffer);
  const next = seededRandom(5);
  const values = Array.from({ length: snapshots }, () => Float32Array.from({ length: elements }, () => next() * 2 - 1));
  const weights = [[0.5, -1.25, 2], [0.75, 0.125, -0.5]];
  weights.forEach((row, k) => row.forEach((w, j) => { float64[layout.weights / 8 + k * 8 + j] = w; }));
  const raw = layout.raw[0].slice(0, snapshots);
  const work = {
    segments: [{ windowOffset: 0, count: elements, tensor: { inputDType: 'F32' as const, outputDType: 'F32' as const }, outputOffset: 0 }],
    offsets: raw.map(() => [0]), raw, count: snapshots, accumulators: layout.accumulators, weights: layout.weights,
    from: 0, to: elements, first: true, last: true, check: true, outputs: layout.outputs, control: layout.control, claimBlocks: 1,
  };
  const run = async (sequence: number): Promise<void> => {
    values.forEach((v, j) => new Float32Array(memory.buffer, raw[j], elements).set(v));
    control.open(sequence);
    helpers.post({ ...work, sequence });
    await control.finished(Math.ceil(elements / BLOCK), helpers.failure);
  };
  await run(1);
  for (let k = 0; k < targets; k++) {
    const expected = new Float32Array(elements);
    for (let e = 0; e < elements; e++) {
      let sum = 0;
      for (let j = 0; j < snapshots; j++) sum += weights[k][j] * values[j][e];
      expected[e] = sum;
    }
    assert.deepEqual(new Uint8Array(memory.buffer, layout.outputs[k], elements * 4), new Uint8Array(expected.buffer), `target ${k}`);
  }
  assert.equal(control.firstNonFinite(), undefined);
  // NaNs far apart (blocks 19 and 3, the last element; blocks 3 and 19 are different claims), then
  // the earliest must be reported, by its element and the first target it poisons.
  values[2][19 * BLOCK + 7] = NaN;
  values[0][3 * BLOCK + 1000] = NaN;
  values[1][elements - 1] = Infinity;
  await run(2);
  assert.deepEqual(control.firstNonFinite(), { element: 3 * BLOCK + 1000, target: 0 });
});
