/**
 * CRC-32 of PyTorch zip entries, checked as they are read. Truths: node:zlib's crc32 (native zlib)
 * and the CRCs torch.save stored in the fixtures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as zlib from 'node:zlib';
import { InputFileError } from '../src/errors.js';
import { openPytorchCheckpoint } from '../src/pytorch/checkpoint-source.js';
import { crc32, crc32Combine, crc32Portable, EntryCrc } from '../src/pytorch/zip-crc.js';
import { seededRandom } from './helpers/seeded-random.js';

const dir = fileURLToPath(new URL('../fixtures/pytorch/', import.meta.url));

function randomBytes(length: number, seed: number): Uint8Array {
  const next = seededRandom(seed);
  return Uint8Array.from({ length }, () => Math.floor(next() * 256));
}

test('crc32, its portable fallback and crc32Combine agree with zlib\'s CRC-32', () => {
  assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926); // the standard check value
  const bytes = randomBytes(200_003, 1);
  const whole = zlib.crc32(bytes);
  assert.equal(crc32(bytes), whole);
  assert.equal(crc32Portable(bytes, 0), whole);
  assert.equal(crc32Portable(bytes.subarray(1000), crc32Portable(bytes.subarray(0, 1000), 0)), whole);
  for (const cut of [0, 1, 7, 4096, 65_537, 200_002, 200_003]) {
    assert.equal(crc32Combine(zlib.crc32(bytes.subarray(0, cut)), zlib.crc32(bytes.subarray(cut)), bytes.length - cut), whole, `cut at ${cut}`);
  }
  // Lengths past 2^31 and 2^32 (no such buffers here): combining is shifting by n zero bytes, so
  // shifting by m then n must equal shifting by m + n.
  const [a, b, c] = [0x12345678, 0x9abcdef0, 0x0fedcba9];
  for (const [m, n] of [[2 ** 31 + 5, 2 ** 31 + 7], [2 ** 32 + 1, 3], [1, 2 ** 40 + 17]]) {
    assert.equal(crc32Combine(crc32Combine(a, b, m), c, n), crc32Combine(a, crc32Combine(b, c, n), m + n), `${m} + ${n}`);
  }
});

test('an entry read in pieces, out of order and overlapping, is verified once covered; one changed byte is a mismatch', () => {
  const bytes = randomBytes(10_000, 2);
  const expected = zlib.crc32(bytes);
  const pieces: Array<[number, number]> = [[6000, 10_000], [0, 1000], [500, 3000], [2500, 6500]];
  const entry = new EntryCrc(bytes.length, expected);
  pieces.forEach(([start, end], i) => {
    const outcome = entry.add(start, bytes.slice(start, end));
    assert.equal(outcome.kind, i === pieces.length - 1 ? 'verified' : 'incomplete', `piece ${i}`);
  });
  assert.equal(entry.add(0, bytes.slice(0, 10)).kind, 'verified', 'later reads of a verified entry cost nothing');

  const corrupt = bytes.slice();
  corrupt[7777] ^= 0x10;
  const checked = new EntryCrc(bytes.length, expected);
  assert.equal(checked.add(0, corrupt.slice(0, 5000)).kind, 'incomplete');
  const outcome = checked.add(5000, corrupt.slice(5000));
  assert.equal(outcome.kind, 'mismatch');
  assert.equal(outcome.kind === 'mismatch' && outcome.computed, zlib.crc32(corrupt));
});

/** The fixture with one byte flipped at `at`, written to a temporary file. */
function flipped(t: { after(fn: () => void): void }, name: string, at: number): string {
  const tmp = mkdtempSync(join(tmpdir(), 'ema-zip-crc-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const bytes = readFileSync(`${dir}${name}`);
  bytes[at] ^= 0x01;
  const path = join(tmp, name);
  writeFileSync(path, bytes);
  return path;
}

test('a flipped byte in a tensor record is refused once the record is read, naming the file and the entry', async (t) => {
  // float32.pt: record float32/data/0 (48 bytes) starts at local header 358 + 30 + name and extra lengths.
  const original = readFileSync(`${dir}float32.pt`);
  const dataStart = 358 + 30 + original.readUInt16LE(358 + 26) + original.readUInt16LE(358 + 28);
  const path = flipped(t, 'float32.pt', dataStart + 20);
  const source = await openPytorchCheckpoint(path);
  try {
    const tensor = source.tensors.find((x) => x.byteLength === 48)!;
    await source.read(tensor.name, 0, new Uint8Array(16)); // part of the record: not yet known to be bad
    await assert.rejects(source.read(tensor.name, 16, new Uint8Array(32)), (error: unknown) => {
      assert.ok(error instanceof InputFileError);
      assert.match(error.message, /float32\.pt: zip entry float32\/data\/0 fails its CRC-32 check \(stored [0-9a-f]{8}, computed [0-9a-f]{8}\): the file is corrupt$/);
      assert.match(error.hint ?? '', /copy it again/);
      return true;
    });
  } finally {
    await source.close();
  }
});

test('a flipped byte in data.pkl is refused when the checkpoint is opened, before unpickling', async (t) => {
  const original = readFileSync(`${dir}float32.pt`);
  const dataStart = 30 + original.readUInt16LE(26) + original.readUInt16LE(28); // data.pkl's local header is at 0
  const path = flipped(t, 'float32.pt', dataStart + 100);
  await assert.rejects(openPytorchCheckpoint(path), (error: unknown) =>
    error instanceof InputFileError && /float32\.pt: zip entry float32\/data\.pkl fails its CRC-32 check/.test(error.message));
});
