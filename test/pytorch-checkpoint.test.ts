import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InputFileError } from '../src/errors.js';
import { openPytorchCheckpoint } from '../src/pytorch/checkpoint-source.js';

// Source of truth: fixtures/pytorch/expected.json, the bytes PyTorch itself held for each tensor
// (tensor.contiguous().numpy().tobytes()), written by fixtures/pytorch/make_fixtures.py.
const dir = fileURLToPath(new URL('../fixtures/pytorch/', import.meta.url));
const expected = JSON.parse(readFileSync(`${dir}expected.json`, 'utf8')) as Record<
  string,
  { name: string; dtype: string; shape: number[]; base64: string }[]
>;

for (const [label, tensors] of Object.entries(expected)) {
  const [file, key] = label.split('#');
  test(`reads every tensor of ${label} exactly as PyTorch wrote it`, async () => {
    const source = await openPytorchCheckpoint(`${dir}${file}`, { key });
    try {
      assert.deepEqual(
        source.tensors.map((t) => [t.name, t.dtype, [...t.shape]]),
        tensors.map((t) => [t.name, t.dtype, t.shape]),
      );
      for (const want of tensors) {
        const bytes = Buffer.from(want.base64, 'base64');
        const entry = source.tensors.find((t) => t.name === want.name)!;
        assert.equal(entry.byteLength, bytes.byteLength);
        const whole = new Uint8Array(entry.byteLength);
        await source.read(want.name, 0, whole);
        assert.deepEqual(Buffer.from(whole), bytes, `${want.name} whole`);
        // Chunks of 3 bytes straddle element boundaries of every dtype wider than one byte.
        const pieces = new Uint8Array(entry.byteLength);
        for (let at = 0; at < pieces.byteLength; at += 3) {
          await source.read(want.name, at, pieces.subarray(at, Math.min(at + 3, pieces.byteLength)));
        }
        assert.deepEqual(Buffer.from(pieces), bytes, `${want.name} in 3-byte chunks`);
      }
    } finally {
      await source.close();
    }
  });
}

test('views read exactly also when their storage is swept in tiny windows (the path for huge views)', async () => {
  const source = await openPytorchCheckpoint(`${dir}views.pt`, { gatherWindowBytes: 12 });
  for (const want of expected['views.pt']) {
    const bytes = new Uint8Array(Buffer.from(want.base64, 'base64').byteLength);
    for (let at = 0; at < bytes.byteLength; at += 7) {
      await source.read(want.name, at, bytes.subarray(at, Math.min(at + 7, bytes.byteLength)));
    }
    assert.deepEqual(Buffer.from(bytes), Buffer.from(want.base64, 'base64'), want.name);
  }
  await source.close();
});

test('views keep their offsets and strides: the transposed tensor is m.T of arange(15)/7', async () => {
  // Independent check by closed form: m[i][j] = (5 i + j) / 7 in float32, read transposed.
  const source = await openPytorchCheckpoint(`${dir}views.pt`);
  const bytes = new Uint8Array(60);
  await source.read('transposed', 0, bytes);
  const values = new Float32Array(bytes.buffer);
  for (let j = 0; j < 5; j++) {
    for (let i = 0; i < 3; i++) assert.equal(values[j * 3 + i], Math.fround((5 * i + j) / 7));
  }
  await source.close();
});

test('a checkpoint whose top level is not a state dict is refused with its keys listed', async () => {
  await assert.rejects(openPytorchCheckpoint(`${dir}nested.pt`), (error: unknown) => {
    assert.ok(error instanceof InputFileError);
    assert.match(error.message, /nested\.pt is not a flat name -> tensor dict/);
    assert.match(error.message, /ema \(dict, 2 tensors\), model \(dict, 1 tensors\), step \(int\), note \(str\)/);
    assert.match(error.hint ?? '', /--key ema/);
    return true;
  });
});

test('an unknown --key names the key and lists the available ones', async () => {
  await assert.rejects(openPytorchCheckpoint(`${dir}nested.pt`, { key: 'state_dict' }), (error: unknown) => {
    assert.ok(error instanceof InputFileError);
    assert.match(error.message, /has no key "state_dict" \(--key\); available keys: ema .*step \(int\)/);
    return true;
  });
  await assert.rejects(openPytorchCheckpoint(`${dir}nested.pt`, { key: 'step' }), /--key step selects a int, not a flat name -> tensor dict/);
});

test('the legacy (non-zip) torch.save format gets an error with a re-save hint', async () => {
  await assert.rejects(openPytorchCheckpoint(`${dir}legacy.pt`), (error: unknown) => {
    assert.ok(error instanceof InputFileError);
    assert.match(error.message, /legacy\.pt is a legacy \(non-zip\) PyTorch checkpoint/);
    assert.match(error.hint ?? '', /_use_new_zipfile_serialization=True/);
    return true;
  });
});

test('a TorchScript archive and a bare pickle are told apart from checkpoints', async () => {
  await assert.rejects(openPytorchCheckpoint(`${dir}torchscript.pt`), (error: unknown) => {
    assert.ok(error instanceof InputFileError);
    assert.match(error.message, /torchscript\.pt is a TorchScript archive \(torch\.jit\.save\)/);
    assert.match(error.hint ?? '', /torch\.save\(model\.state_dict\(\), path\)/);
    return true;
  });
  const tmp = mkdtempSync(join(tmpdir(), 'ema-pt-'));
  try {
    writeFileSync(join(tmp, 'bare.pkl'), Uint8Array.from([0x80, 0x04, 0x4e, 0x2e])); // pickle.dumps(None, 4)
    await assert.rejects(openPytorchCheckpoint(join(tmp, 'bare.pkl')), /bare\.pkl is a bare pickle, not a PyTorch zip checkpoint/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('a deflated tensor record is refused with the tensor and record named', async () => {
  await assert.rejects(openPytorchCheckpoint(`${dir}compressed.pt`), (error: unknown) => {
    assert.ok(error instanceof InputFileError);
    assert.match(error.message, /storage of tensor w \(float32\/data\/\d+\) is compressed \(zip method 8\)/);
    return true;
  });
});

test('a file that is neither zip nor pickle is not mistaken for a checkpoint', async () => {
  await assert.rejects(openPytorchCheckpoint(`${dir}expected.json`), /is not a PyTorch zip checkpoint/);
});

test('reads outside a tensor are refused with the tensor named', async () => {
  const source = await openPytorchCheckpoint(`${dir}float32.pt`);
  await assert.rejects(source.read('w', 40, new Uint8Array(16)), /outside tensor w \(48 bytes\)/);
  await assert.rejects(source.read('nope', 0, new Uint8Array(1)), /has no tensor named nope/);
  await source.close();
});
