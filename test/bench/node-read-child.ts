/**
 * Node's own floor for reading the snapshots: the bytes of every file read once with
 * FileHandle.read, as the blend engine reads them (2 MiB positional reads, 8 files at a time, all
 * 8 in flight), into reused buffers, doing nothing with them. Prints {"ms": wall time} on stdout.
 *
 *   node --import tsx test/bench/node-read-child.ts FILE...
 */
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';

const CHUNK = 2 << 20;
const BATCH = 8;
const files = process.argv.slice(2);
const buffers = Array.from({ length: BATCH }, () => new Uint8Array(new SharedArrayBuffer(CHUNK)));

async function readWhole(path: string, buffer: Uint8Array): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    for (let position = 0; position < size; position += CHUNK) {
      await handle.read(buffer, 0, Math.min(CHUNK, size - position), position);
    }
  } finally {
    await handle.close();
  }
}

const start = performance.now();
for (let first = 0; first < files.length; first += BATCH) {
  await Promise.all(files.slice(first, first + BATCH).map((path, j) => readWhole(path, buffers[j])));
}
process.stdout.write(`${JSON.stringify({ ms: performance.now() - start })}\n`);
