import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../src/cli/main.js';
import type { CliIo } from '../src/cli/io.js';
import { convertCheckpoint } from '../src/pytorch/convert-checkpoint.js';
import { openSafetensors } from '../src/safetensors/reader.js';

const dir = fileURLToPath(new URL('../fixtures/pytorch/', import.meta.url));
// Truth: the bytes PyTorch held, recorded by fixtures/pytorch/make_fixtures.py.
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as Record<
  string,
  { name: string; dtype: string; shape: number[]; base64: string }[]
>;

function captureIo(): CliIo & { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  return {
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text) },
    env: {},
    out: () => out,
    err: () => err,
  };
}

async function readAll(path: string) {
  const file = await openSafetensors(path);
  try {
    const tensors = [];
    for (const t of file.tensors) {
      const bytes = new Uint8Array(t.byteLength);
      await file.read(t.name, 0, bytes);
      tensors.push({ name: t.name, dtype: t.dtype, shape: [...t.shape], base64: Buffer.from(bytes).toString('base64') });
    }
    return { tensors, metadata: file.metadata };
  } finally {
    await file.close();
  }
}

test('convert writes every tensor and the snapshot metadata; the safetensors reads back byte for byte', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ema-convert-'));
  try {
    const out = join(tmp, 'ema.safetensors');
    const io = captureIo();
    const code = await run(['convert', `${dir}nested.pt`, out, '--key', 'ema', '--sigma-rel', '0.1', '--time', '5000', '--time-unit', 'step'], io);
    assert.equal(code, 0, io.err());
    assert.match(io.out(), /wrote .*ema\.safetensors: 2 tensors, 32 bytes of tensor data/);
    assert.equal(io.err(), '');
    const written = await readAll(out);
    assert.deepEqual(written.tensors, expected['nested.pt#ema']);
    assert.equal(written.metadata.ema_sigma_rel, '0.1');
    // gamma of sigma_rel 0.10 is about 6.94 (MATH.md)
    assert.ok(Math.abs(Number(written.metadata.ema_gamma) - 6.94) < 0.01, written.metadata.ema_gamma);
    assert.equal(written.metadata.ema_time, '5000');
    assert.equal(written.metadata.ema_time_unit, 'step');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('views, every dtype and OrderedDicts convert exactly (small chunks exercise the streaming path)', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ema-convert-'));
  try {
    for (const label of ['views.pt', 'mixed.pt', 'bfloat16.pt', 'ordered.pt', 'float16.pt']) {
      const out = join(tmp, `${label}.safetensors`);
      await convertCheckpoint(`${dir}${label}`, out, { metadata: {}, chunkBytes: 5 });
      assert.deepEqual((await readAll(out)).tensors, expected[label], label);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('convert refuses to overwrite without --force and leaves no temporary file on errors', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ema-convert-'));
  try {
    const out = join(tmp, 'x.safetensors');
    writeFileSync(out, 'keep me');
    const io = captureIo();
    assert.equal(await run(['convert', `${dir}float32.pt`, out], io), 1);
    assert.equal(readFileSync(out, 'utf8'), 'keep me');
    assert.equal(await run(['convert', `${dir}float32.pt`, out, '--force'], captureIo()), 0);
    assert.deepEqual((await readAll(out)).tensors, expected['float32.pt']);

    const evil = captureIo();
    assert.equal(await run(['convert', `${dir}evil-reduce.pt`, join(tmp, 'evil.safetensors')], evil), 1);
    assert.match(evil.err(), /error: .*refused to load global posix\.system/);
    assert.equal(existsSync(join(tmp, 'evil.safetensors')), false);
    assert.deepEqual(readdirSync(tmp).sort(), ['x.safetensors']);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('convert checks its flags before reading anything', async () => {
  const both = captureIo();
  assert.equal(await run(['convert', 'a.pt', 'b.safetensors', '--sigma-rel', '0.1', '--gamma', '7'], both), 2);
  assert.match(both.err(), /give --sigma-rel or --gamma, not both/);
  const wide = captureIo();
  assert.equal(await run(['convert', 'a.pt', 'b.safetensors', '--sigma-rel', '0.3'], wide), 2);
  assert.match(wide.err(), /--sigma-rel "0\.3": sigma_rel must be in \(0, 0\.288675\), got 0\.3/);
  const time = captureIo();
  assert.equal(await run(['convert', 'a.pt', 'b.safetensors', '--time', '-1'], time), 2);
  assert.match(time.err(), /--time "-1" must be a positive number/);
});

test('convert warns when only half of the snapshot description is given', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ema-convert-'));
  try {
    const io = captureIo();
    assert.equal(await run(['convert', `${dir}float32.pt`, join(tmp, 'a.safetensors'), '--gamma', '7'], io), 0);
    assert.match(io.err(), /warning: .*a\.safetensors will lack ema_time \(--time\)/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
