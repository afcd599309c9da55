import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blendSnapshots } from '../src/blend/blend.js';
import { planTensors } from '../src/blend/blend-plan.js';
import { HandlePool } from '../src/io/handle-pool.js';
import { openSafetensors } from '../src/safetensors/reader.js';
import { writeSafetensorsFile } from '../src/safetensors/writer.js';
import { type DType, type TensorSource } from '../src/tensors/tensor-source.js';
import { InputFileError } from '../src/errors.js';
import { seededRandom } from './helpers/seeded-random.js';
import { expectedBlend, makeBlendSnapshots, MemorySink, type BlendFixture, type Poison } from './helpers/blend-fixture.js';

// An odd-length F16 tensor first puts every later tensor off its natural alignment in the file,
// so the coalesced reads and the unaligned decoders are exercised too.
const LAYOUT: { name: string; dtype: DType; shape: number[] }[] = [
  { name: 'a.f16', dtype: 'F16', shape: [3] },
  { name: 'b.f32', dtype: 'F32', shape: [10, 101] },
  { name: 'c.bf16', dtype: 'BF16', shape: [517] },
  { name: 'd.count', dtype: 'I32', shape: [5] },
  { name: 'e.f64', dtype: 'F64', shape: [33] },
  { name: 'f.scalar', dtype: 'F32', shape: [] },
  { name: 'g.f32', dtype: 'F32', shape: [2500] },
];
const SNAPSHOTS = 11; // one full batch of 8 plus a remainder of 3 (kernels 2 and 1)

type Fixture = BlendFixture;

function makeSnapshots(t: { after(fn: () => void): void }, poison?: Poison): Promise<Fixture> {
  return makeBlendSnapshots(t, { layout: LAYOUT, snapshots: SNAPSHOTS, seed: 12345, pad: (i) => 'x'.repeat(i), poison: poison ? [poison] : [] });
}

const expectedOutput = expectedBlend;

/** A TensorSource without positional reads, like a reader of another format. */
function tensorOnly(source: TensorSource): TensorSource {
  return { path: source.path, tensors: source.tensors, metadata: source.metadata, read: (n, o, t) => source.read(n, o, t), close: () => source.close() };
}

async function blend(fixture: Fixture, weights: number[][], chunkElements: number, options: { dtype?: 'same' | 'f16'; wrap?: boolean; maxOpenFiles?: number; threads?: number } = {}): Promise<Uint8Array[]> {
  const opened = await Promise.all(fixture.paths.map((path) => openSafetensors(path)));
  const sources = options.wrap ? opened.map(tensorOnly) : opened;
  const sinks = weights.map(() => new MemorySink());
  try {
    const plan = planTensors(opened[0].tensors, options.dtype ?? 'same');
    await blendSnapshots({ sources, weights, plan, copySource: sources[SNAPSHOTS - 1], sinks, chunkElements, maxOpenFiles: options.maxOpenFiles, threads: options.threads ?? 1 });
  } finally {
    await Promise.all(opened.map((source) => source.close()));
  }
  return sinks.map((sink) => sink.bytes());
}

function weightRows(targets: number): number[][] {
  const next = seededRandom(99);
  return Array.from({ length: targets }, (_, k) => Array.from({ length: SNAPSHOTS }, (_, i) => (k === 1 && i === 4 ? 0 : next() * 2 - 0.7)));
}

test('every target equals the snapshot-ordered float64 sum, byte for byte, for any window size', async (t) => {
  const fixture = await makeSnapshots(t);
  // Targets 0 and 1 (a zero weight) take the one-target kernels, 2 and 3 the two-target kernel.
  const weights = weightRows(4);
  const expected = weights.map((row) => expectedOutput(fixture, row, 'same'));
  for (const chunk of [1, 7, 64, 1000, 1 << 20]) {
    const outputs = await blend(fixture, weights, chunk);
    outputs.forEach((bytes, k) => assert.deepEqual(bytes, expected[k], `target ${k}, window ${chunk}`));
  }
});

test('one target alone gives the same bytes as inside a multi-target blend, and sources without positional reads too', async (t) => {
  const fixture = await makeSnapshots(t);
  const weights = weightRows(3);
  const together = await blend(fixture, weights, 300);
  for (let k = 0; k < weights.length; k++) {
    const [alone] = await blend(fixture, [weights[k]], 4096, { wrap: true });
    assert.deepEqual(alone, together[k], `target ${k}`);
  }
});

test('two threads sharing each window change no byte', async (t) => {
  const fixture = await makeSnapshots(t);
  const weights = weightRows(4);
  for (const chunk of [5000, 3000]) {
    const outputs = await blend(fixture, weights, chunk, { threads: 2 });
    outputs.forEach((bytes, k) => assert.deepEqual(bytes, expectedOutput(fixture, weights[k], 'same'), `target ${k}, window ${chunk}`));
  }
});

test('encodes to another output dtype from the float64 sum (one rounding)', async (t) => {
  const fixture = await makeSnapshots(t);
  const weights = weightRows(2);
  const outputs = await blend(fixture, weights, 500, { dtype: 'f16' });
  outputs.forEach((bytes, k) => assert.deepEqual(bytes, expectedOutput(fixture, weights[k], 'f16')));
});

test('a NaN in a snapshot stops the blend naming the file, the tensor and the element', async (t) => {
  const fixture = await makeSnapshots(t, { snapshot: 9, tensor: 2, element: 100 });
  await assert.rejects(blend(fixture, weightRows(2), 64), (error: unknown) => {
    assert.ok(error instanceof InputFileError);
    assert.match(error.message, /s9\.safetensors: tensor "c\.bf16" holds NaN at element 100/);
    return true;
  });
});

test('a NaN in the upper part of a window two threads share is named too', async (t) => {
  const fixture = await makeSnapshots(t, { snapshot: 3, tensor: 6, element: 2400 });
  await assert.rejects(blend(fixture, weightRows(2), 5000, { threads: 2 }), /s3\.safetensors: tensor "g\.f32" holds NaN at element 2400/);
});

test('with more snapshots than open files allowed, sources are closed, reopened and read again, and results do not change', async (t) => {
  // The engine keeps at least 17 files open (two batches of 8 with reads in flight, plus one), so it takes
  // more snapshots than that, and several windows, for files to be closed and read again after reopening.
  const count = 40;
  const elements = 3000;
  const dir = mkdtempSync(join(tmpdir(), 'blend-engine-evict-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const next = seededRandom(777);
  const values = Array.from({ length: count }, () => Float32Array.from({ length: elements }, () => next() * 2 - 1));
  const weights = Array.from({ length: count }, () => next() - 0.3);
  const paths = values.map((_, i) => join(dir, `s${i}.safetensors`));
  for (let i = 0; i < count; i++) await writeSafetensorsFile(paths[i], [{ name: 'w', dtype: 'F32', shape: [elements], data: new Uint8Array(values[i].buffer) }]);
  const opened = await Promise.all(paths.map((path) => openSafetensors(path)));
  // Each source counts its closes and the reads that came after one (those had to reopen the file).
  const stats = { closes: 0, readsAfterReopen: 0, open: 0, mostOpen: 0 };
  const sources = opened.map((source) => {
    let isOpen = false;
    let wasClosed = false;
    return new Proxy(source, {
      get(target, property, receiver) {
        if (property === 'close') {
          return async () => {
            if (isOpen) { stats.closes++; stats.open--; wasClosed = true; }
            isOpen = false;
            await target.close();
          };
        }
        if (property === 'read' || property === 'readAt') {
          const method = Reflect.get(target, property, target) as (...args: unknown[]) => Promise<void>;
          return async (...args: unknown[]) => {
            if (!isOpen) { isOpen = true; stats.open++; stats.mostOpen = Math.max(stats.mostOpen, stats.open); }
            if (wasClosed) stats.readsAfterReopen++;
            await method.apply(target, args);
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
  });
  const sink = new MemorySink();
  try {
    await blendSnapshots({ sources, weights: [weights], plan: planTensors(opened[0].tensors, 'same'), copySource: sources[count - 1], sinks: [sink], chunkElements: 500, maxOpenFiles: 1, threads: 1 });
  } finally {
    await Promise.all(opened.map((source) => source.close()));
  }
  assert.ok(stats.closes >= count, `files were closed by the pool (${stats.closes} closes)`);
  assert.ok(stats.readsAfterReopen >= count, `files were read after being closed (${stats.readsAfterReopen} reads)`);
  assert.ok(stats.mostOpen <= 17, `at most 17 files open at once, saw ${stats.mostOpen}`);
  const sum = new Float64Array(elements);
  for (let i = 0; i < count; i++) for (let e = 0; e < elements; e++) sum[e] += weights[i] * values[i][e];
  assert.deepEqual(sink.bytes(), Buffer.from(Float32Array.from(sum).buffer));
});

test('the handle pool closes the least recently used item beyond its capacity', async () => {
  const closed: number[] = [];
  const items = Array.from({ length: 5 }, (_, id) => ({ id, close: async () => { closed.push(id); } }));
  const pool = new HandlePool<(typeof items)[number]>(3);
  for (const id of [0, 1, 2, 0, 3, 4]) await pool.use(items[id]);
  assert.deepEqual(closed, [1, 2]);
  assert.equal(pool.size, 3);
});
