import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, truncate, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSafetensors } from '../src/safetensors/reader.js';
import { SafetensorsWriter, writeSafetensorsFile, encodeHeader } from '../src/safetensors/writer.js';
import { SafetensorsHeaderError } from '../src/safetensors/header-error.js';
import { InputFileError, OutputError } from '../src/errors.js';
import { DTYPE_BYTES, elementCount, type DType } from '../src/tensors/tensor-source.js';

const ALL_DTYPES = Object.keys(DTYPE_BYTES) as DType[];

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'ema-synth-st-'));
}

function patterned(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 131 + seed * 17 + (i >> 8)) & 0xff;
  return bytes;
}

test('writes the exact bytes the spec describes for a small file', async () => {
  const dir = await tempDir();
  const path = join(dir, 'tiny.safetensors');
  const data = new Uint8Array(new Float32Array([1, 2]).buffer);
  await writeSafetensorsFile(path, [{ name: 'a', dtype: 'F32', shape: [2], data }], { k: 'v' });
  // Built by hand from the spec: compact JSON, __metadata__ first, spaces up to a multiple of 8.
  const json = '{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  assert.equal(json.length, 79);
  const expected = Buffer.concat([
    Buffer.from([80, 0, 0, 0, 0, 0, 0, 0]),
    Buffer.from(`${json} `, 'utf8'),
    Buffer.from([0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0x40]),
  ]);
  assert.deepEqual(await readFile(path), expected);
  await rm(dir, { recursive: true });
});

test('round-trips every dtype, scalars, zero-size tensors and metadata', async () => {
  const dir = await tempDir();
  const path = join(dir, 'all.safetensors');
  const tensors = ALL_DTYPES.flatMap((dtype, i) => [
    { name: `${dtype}.matrix`, dtype, shape: [3, 5] },
    { name: `${dtype}.scalar`, dtype, shape: [] },
    { name: `${dtype}.empty`, dtype, shape: [0, 4] },
  ].map((spec, j) => ({ ...spec, data: patterned(elementCount(spec.shape) * DTYPE_BYTES[dtype], i * 3 + j) })));
  const metadata = { ema_sigma_rel: '0.05', ema_time: '12345', note: 'ünïcödé "quoted"', '': 'empty key' };
  await writeSafetensorsFile(path, tensors, metadata);
  const file = await openSafetensors(path);
  assert.deepEqual(file.metadata, metadata);
  assert.deepEqual(file.tensors.map((t) => [t.name, t.dtype, t.shape]), tensors.map((t) => [t.name, t.dtype, t.shape]));
  for (const tensor of tensors) {
    const back = new Uint8Array(tensor.data.byteLength);
    await file.read(tensor.name, 0, back);
    assert.deepEqual(back, tensor.data, tensor.name);
  }
  assert.equal(file.dataStart % 8, 0);
  await file.close();
  await rm(dir, { recursive: true });
});

test('pads the header with spaces to a multiple of 8 for every JSON length', () => {
  for (let nameLength = 1; nameLength <= 16; nameLength++) {
    const { bytes } = encodeHeader({ tensors: [{ name: 'x'.repeat(nameLength), dtype: 'U8', shape: [1] }] }, 'p');
    const declared = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(declared, bytes.byteLength - 8);
    assert.equal(declared % 8, 0);
    const text = new TextDecoder().decode(bytes.subarray(8));
    assert.match(text, /^\{.*\} {0,7}$/);
  }
});

test('streams a large tensor in odd chunk sizes and reads chunks back at arbitrary offsets', async () => {
  const dir = await tempDir();
  const path = join(dir, 'big.safetensors');
  const a = patterned(3_000_001 * 2, 1);
  const b = patterned(7 * 4, 2);
  const writer = await SafetensorsWriter.create(path, { tensors: [{ name: 'a', dtype: 'F16', shape: [3_000_001] }, { name: 'b', dtype: 'F32', shape: [7] }] });
  const all = new Uint8Array([...a, ...b]);
  for (let offset = 0, step = 1; offset < all.byteLength; offset += step, step = (step * 7 + 3) % 1_500_000 + 1) {
    await writer.write(all.subarray(offset, Math.min(all.byteLength, offset + step)));
  }
  await writer.commit();
  const file = await openSafetensors(path);
  let seed = 99;
  for (let i = 0; i < 200; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    const offset = seed % a.byteLength;
    const length = Math.min(a.byteLength - offset, (seed >>> 7) % 5000);
    const chunk = new Uint8Array(length);
    await file.read('a', offset, chunk);
    assert.deepEqual(chunk, a.subarray(offset, offset + length));
  }
  assert.equal(file.absoluteOffset('b'), file.dataStart + a.byteLength);
  const both = new Uint8Array(10);
  await file.readAt(file.absoluteOffset('b') - 4, both);
  assert.deepEqual(both, all.subarray(a.byteLength - 4, a.byteLength + 6));
  await file.close();
  const afterClose = new Uint8Array(4);
  await file.read('b', 4, afterClose); // reopens lazily
  assert.deepEqual(afterClose, b.subarray(4, 8));
  await file.close();
  await rm(dir, { recursive: true });
});

test('refuses reads outside a tensor or of unknown tensors, naming the file and tensor', async () => {
  const dir = await tempDir();
  const path = join(dir, 'r.safetensors');
  await writeSafetensorsFile(path, [{ name: 'w', dtype: 'F32', shape: [2], data: new Uint8Array(8) }]);
  const file = await openSafetensors(path);
  await assert.rejects(file.read('w', 4, new Uint8Array(8)), (e: Error) => e instanceof InputFileError && e.message === `${path}: tensor "w": cannot read 8 bytes at offset 4, the tensor has 8 bytes`);
  await assert.rejects(file.read('nope', 0, new Uint8Array(1)), new RegExp(`${path}: no tensor named "nope"`));
  await file.close();
  await rm(dir, { recursive: true });
});

test('reports a file truncated before opening, and one truncated after opening, as truncated', async () => {
  const dir = await tempDir();
  const path = join(dir, 't.safetensors');
  await writeSafetensorsFile(path, [{ name: 'w', dtype: 'F32', shape: [1000], data: new Uint8Array(4000) }]);
  const file = await openSafetensors(path);
  await file.close();
  await truncate(path, (await stat(path)).size - 100);
  await assert.rejects(file.read('w', 3900, new Uint8Array(100)), /looks truncated/);
  await assert.rejects(openSafetensors(path), (e: unknown) => e instanceof SafetensorsHeaderError && e.rule === 'truncated' && /looks truncated/.test(e.message));
  await truncate(path, 30);
  await assert.rejects(openSafetensors(path), (e: unknown) => e instanceof SafetensorsHeaderError && e.rule === 'header-length-beyond-file');
  await rm(dir, { recursive: true });
});

test('reports missing files and folders clearly', async () => {
  const dir = await tempDir();
  await assert.rejects(openSafetensors(join(dir, 'missing.safetensors')), /missing.safetensors: cannot open for reading \(no such file\)/);
  await assert.rejects(openSafetensors(dir), /not a regular file/);
  await rm(dir, { recursive: true });
});

test('the streaming writer refuses too many or too few bytes and leaves nothing behind', async () => {
  const dir = await tempDir();
  const path = join(dir, 'w.safetensors');
  const layout = { tensors: [{ name: 'w', dtype: 'U8' as const, shape: [4] }] };
  const over = await SafetensorsWriter.create(path, layout);
  await assert.rejects(over.write(new Uint8Array(5)), (e: Error) => e instanceof OutputError && /5 data bytes written, more than the 4 the header describes/.test(e.message));
  const short = await SafetensorsWriter.create(path, layout);
  await short.write(new Uint8Array(3));
  await assert.rejects(short.commit(), /only 3 of 4 data bytes were written \(1 missing\); the file was not created/);
  assert.deepEqual(await readdir(dir), []);
  await assert.rejects(writeSafetensorsFile(path, [{ name: 'w', dtype: 'U8', shape: [4], data: new Uint8Array(2) }]), /tensor "w" has 2 bytes of data, its shape needs 4/);
  await assert.rejects(SafetensorsWriter.create(path, { tensors: [{ name: 'w', dtype: 'U8', shape: [1] }, { name: 'w', dtype: 'U8', shape: [1] }] }), /tensor name "w" is used twice/);
  await assert.rejects(SafetensorsWriter.create(path, { tensors: [{ name: 'w', dtype: 'U8', shape: [-1] }] }), /shape \[-1\] must hold non-negative integers/);
  assert.deepEqual(await readdir(dir), []);
  await rm(dir, { recursive: true });
});

test('reads the reference file written by another implementation (Python safetensors)', async () => {
  const path = fileURLToPath(new URL('./reference/mpunet-small16-reference.safetensors', import.meta.url));
  const file = await openSafetensors(path);
  // Facts read with Python's json module: header length 15024, 125 tensors, config in metadata.
  assert.equal(file.dataStart, 8 + 15024);
  assert.equal(file.tensors.length, 125);
  assert.match(file.metadata.config ?? '', /"res": 16/);
  const total = file.tensors.reduce((sum, t) => sum + t.byteLength, 0);
  assert.equal(file.dataStart + total, (await stat(path)).size);
  await file.close();
});

test('a file we write can be written again from what we read (copy is byte-identical)', async () => {
  const dir = await tempDir();
  const source = join(dir, 's.safetensors');
  const copy = join(dir, 'c.safetensors');
  await writeSafetensorsFile(source, [
    { name: 'z', dtype: 'BF16', shape: [2, 2], data: patterned(8, 5) },
    { name: 'a', dtype: 'I64', shape: [1], data: patterned(8, 6) },
  ], { ema_time: '7' });
  const file = await openSafetensors(source);
  const writer = await SafetensorsWriter.create(copy, { tensors: file.tensors, metadata: file.metadata });
  for (const t of file.tensors) {
    const bytes = new Uint8Array(t.byteLength);
    await file.read(t.name, 0, bytes);
    await writer.write(bytes);
  }
  await writer.commit();
  await file.close();
  assert.deepEqual(await readFile(copy), await readFile(source));
  await rm(dir, { recursive: true });
});

test('header order follows the layout even for integer-like and "__proto__" tensor names', async () => {
  const dir = await tempDir();
  const path = join(dir, 'names.safetensors');
  const tensors = ['b', '12', '__proto__', '0'].map((name, i) => ({ name, dtype: 'U8' as const, shape: [i + 1], data: patterned(i + 1, i) }));
  await writeSafetensorsFile(path, tensors, { '1': 'one' });
  const text = (await readFile(path)).subarray(8).toString('utf8');
  assert.ok(text.startsWith('{"__metadata__":{"1":"one"},"b":{'), text);
  assert.ok(text.indexOf('"12"') < text.indexOf('"__proto__"') && text.indexOf('"__proto__"') < text.indexOf('"0"'), text);
  const file = await openSafetensors(path);
  assert.deepEqual(file.tensors.map((t) => t.name), ['b', '12', '__proto__', '0']);
  const back = new Uint8Array(3);
  await file.read('__proto__', 0, back);
  assert.deepEqual(back, tensors[2].data);
  await file.close();
  await rm(dir, { recursive: true });
});
