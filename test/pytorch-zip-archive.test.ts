import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { InputFileError } from '../src/errors.js';
import { openPytorchCheckpoint } from '../src/pytorch/checkpoint-source.js';
import { ZipArchive } from '../src/pytorch/zip-archive.js';

const dir = fileURLToPath(new URL('../fixtures/pytorch/', import.meta.url));

/**
 * A stored zip built by hand from the APPNOTE layout, with every size and offset in zip64 form:
 * 0xFFFFFFFF in the fixed fields, the real values in the 0x0001 extra field, a zip64 end record
 * and locator, and 0xFFFF/0xFFFFFFFF in the classic end record.
 */
function zip64Archive(files: { name: string; data: Uint8Array }[]): Uint8Array {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data } of files) {
    const nameBytes = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(45, 4);
    local.writeUInt16LE(nameBytes.length, 26);
    parts.push(local, nameBytes, Buffer.from(data));
    const extra = Buffer.alloc(4 + 24);
    extra.writeUInt16LE(0x0001, 0);
    extra.writeUInt16LE(24, 2);
    extra.writeBigUInt64LE(BigInt(data.byteLength), 4); // uncompressed
    extra.writeBigUInt64LE(BigInt(data.byteLength), 12); // compressed
    extra.writeBigUInt64LE(BigInt(offset), 20); // local header offset
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(45, 4);
    entry.writeUInt16LE(45, 6);
    entry.writeUInt32LE(zlib.crc32(data), 16);
    entry.writeUInt32LE(0xffffffff, 20);
    entry.writeUInt32LE(0xffffffff, 24);
    entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt16LE(extra.length, 30);
    entry.writeUInt32LE(0xffffffff, 42);
    central.push(entry, nameBytes, extra);
    offset += 30 + nameBytes.length + data.byteLength;
  }
  const cd = Buffer.concat(central);
  const zip64End = Buffer.alloc(56);
  zip64End.writeUInt32LE(0x06064b50, 0);
  zip64End.writeBigUInt64LE(44n, 4);
  zip64End.writeBigUInt64LE(BigInt(files.length), 24);
  zip64End.writeBigUInt64LE(BigInt(files.length), 32);
  zip64End.writeBigUInt64LE(BigInt(cd.length), 40);
  zip64End.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + cd.length), 8);
  locator.writeUInt32LE(1, 16);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0xffff, 8);
  end.writeUInt16LE(0xffff, 10);
  end.writeUInt32LE(0xffffffff, 12);
  end.writeUInt32LE(0xffffffff, 16);
  return Buffer.concat([...parts, cd, zip64End, locator, end]);
}

test('zip64 end records and extra fields are followed to the right entries', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ema-zip-'));
  try {
    const path = join(tmp, 'z.zip');
    writeFileSync(path, zip64Archive([
      { name: 'a/x', data: Buffer.from('hello') },
      { name: 'a/y', data: Buffer.from('0123456789') },
    ]));
    const zip = await ZipArchive.open(path);
    assert.deepEqual([...zip.entries.keys()], ['a/x', 'a/y']);
    const y = zip.entries.get('a/y')!;
    assert.equal(y.uncompressedSize, 10);
    const part = new Uint8Array(4);
    await zip.read(y, 3, part);
    assert.equal(Buffer.from(part).toString(), '3456');
    assert.equal(Buffer.from(await zip.readAll(zip.entries.get('a/x')!, 100)).toString(), 'hello');
    await assert.rejects(zip.read(y, 8, part), /outside zip entry a\/y \(10 bytes\)/);
    await assert.rejects(zip.readAll(y, 5), /is 10 bytes, more than the 5 allowed/);
    await zip.close();
    // After close, reads reopen the file (sources may be pooled).
    await zip.read(y, 0, part);
    assert.equal(Buffer.from(part).toString(), '0123');
    await zip.close();
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('truncated or non-zip files are refused with the file named', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ema-zip-'));
  try {
    const good = zip64Archive([{ name: 'a/x', data: Buffer.alloc(100, 7) }]);
    const cut = join(tmp, 'cut.zip');
    writeFileSync(cut, good.subarray(0, good.length - 30));
    await assert.rejects(ZipArchive.open(cut), (error: unknown) =>
      error instanceof InputFileError && /cut\.zip is not a readable zip archive/.test(error.message));
    const tiny = join(tmp, 'tiny.zip');
    writeFileSync(tiny, 'PK');
    await assert.rejects(ZipArchive.open(tiny), /tiny\.zip is not a readable zip archive: only 2 bytes/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the torch >= 2.1 layout (archive/ prefix, byteorder record, 64-byte aligned records) reads', async () => {
  const source = await openPytorchCheckpoint(`${dir}torch2-layout.pt`);
  assert.deepEqual(source.tensors.map((t) => t.name), ['w', 'b', 'scalar']);
  const scalar = new Uint8Array(4);
  await source.read('scalar', 0, scalar);
  assert.equal(new Float32Array(scalar.buffer)[0], 1.5);
  await source.close();
});

test('a big-endian checkpoint is refused rather than read with swapped bytes', async () => {
  await assert.rejects(openPytorchCheckpoint(`${dir}big-endian.pt`), /big-endian\.pt was saved with big-endian byte order/);
});

/** Every tensor's bytes of a checkpoint, by name. */
async function readAllTensors(path: string): Promise<Map<string, Buffer>> {
  const source = await openPytorchCheckpoint(path);
  try {
    const tensors = new Map<string, Buffer>();
    for (const t of source.tensors) {
      const bytes = new Uint8Array(t.byteLength);
      await source.read(t.name, 0, bytes);
      tensors.set(t.name, Buffer.from(bytes));
    }
    return tensors;
  } finally {
    await source.close();
  }
}

test('mutated checkpoints are refused with InputFileError or read exactly as the original, never silently changed', async (t) => {
  const original = readFileSync(`${dir}views.pt`);
  const truth = await readAllTensors(`${dir}views.pt`);
  // Where the tensor records' bytes lie: a change there must be refused (their CRC-32 is checked).
  const records = [...(await ZipArchive.open(`${dir}views.pt`).then(async (zip) => {
    const spans = [...zip.entries.values()].filter((e) => /\/data\/\d+$/.test(e.name)).map((e) => {
      const at = e.localHeaderOffset;
      const start = at + 30 + original.readUInt16LE(at + 26) + original.readUInt16LE(at + 28);
      return [start, start + e.uncompressedSize] as const;
    });
    await zip.close();
    return spans;
  }))];
  const inRecord = (at: number): boolean => records.some(([start, end]) => at >= start && at < end);
  const tmp = mkdtempSync(join(tmpdir(), 'ema-zip-fuzz-'));
  let seed = 777;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const counts = { refused: 0, intact: 0, dataFlips: 0, dataFlipsRefused: 0 };
  const baseline = process.memoryUsage();
  let peak = 0;
  try {
    const rounds = Number(process.env.EMA_SYNTH_FUZZ_ROUNDS ?? 300);
    for (let round = 0; round < rounds; round++) {
      const bytes = Buffer.from(original);
      // A third of the rounds change a byte inside a tensor record; the others aim half of their changes
      // at the central directory and end records (the last 600 bytes).
      const changed: number[] = [];
      if (round % 3 === 0) {
        const [start, end] = records[random(records.length)];
        if (end > start) changed.push(start + random(end - start));
      } else {
        for (let m = 1 + random(3); m > 0; m--) changed.push(random(2) === 0 ? bytes.length - 1 - random(600) : random(bytes.length));
      }
      for (const at of changed) bytes[at] = (bytes[at] + 1 + random(255)) % 256; // always a different value
      const path = join(tmp, `${round % 4}.pt`);
      const truncated = round % 3 !== 0 && random(10) === 0;
      writeFileSync(path, truncated ? bytes.subarray(0, random(bytes.length)) : bytes);
      const dataFlip = !truncated && changed.length > 0 && changed.every(inRecord);
      if (dataFlip) counts.dataFlips++;
      try {
        const read = await readAllTensors(path);
        // Accepted: then it must be exactly the original's tensors (a change outside every byte read).
        assert.deepEqual(read, truth, `round ${round}: a mutated file was read with different contents (changed bytes ${changed})`);
        assert.ok(!dataFlip, `round ${round}: a changed tensor byte at ${changed} was accepted`);
        counts.intact++;
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        assert.ok(error instanceof InputFileError, `round ${round}: ${(error as Error).stack}`);
        counts.refused++;
        if (dataFlip) {
          counts.dataFlipsRefused++;
          assert.match(error.message, /fails its CRC-32 check/, `round ${round}`);
        }
      }
      const now = process.memoryUsage();
      peak = Math.max(peak, now.heapUsed + now.arrayBuffers - baseline.heapUsed - baseline.arrayBuffers);
    }
    t.diagnostic(`${rounds} mutated checkpoints: ${counts.refused} refused, ${counts.intact} read intact; ${counts.dataFlipsRefused} of ${counts.dataFlips} tensor-byte changes refused; heap + buffers peaked ${(peak / 2 ** 20).toFixed(1)} MB above the start`);
    // Most mutations hit a structure or a record; a reader accepting everything would fail here.
    assert.equal(counts.dataFlipsRefused, counts.dataFlips);
    assert.ok(counts.refused >= 0.7 * rounds, `only ${counts.refused} of ${rounds} refused`);
    assert.ok(peak < 32 * 2 ** 20, `memory grew by ${peak} bytes over the run`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
