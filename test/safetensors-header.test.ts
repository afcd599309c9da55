import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSafetensorsHeader, MAX_HEADER_BYTES } from '../src/safetensors/header.js';
import { SafetensorsHeaderError, type HeaderRule } from '../src/safetensors/header-error.js';

const PATH = 'snapshots/phema-0000100-0.050.safetensors';

/** A whole file: 8-byte little-endian length, the header bytes, then `dataLength` zero bytes. */
function file(header: string | Uint8Array, dataLength: number, declaredLength?: bigint): Uint8Array {
  const json = typeof header === 'string' ? new TextEncoder().encode(header) : header;
  const bytes = new Uint8Array(8 + json.byteLength + dataLength);
  new DataView(bytes.buffer).setBigUint64(0, declaredLength ?? BigInt(json.byteLength), true);
  bytes.set(json, 8);
  return bytes;
}

function parse(bytes: Uint8Array, fileSize = bytes.byteLength) {
  return parseSafetensorsHeader(bytes, fileSize, PATH);
}

function rejects(bytes: Uint8Array, rule: HeaderRule, message: RegExp, fileSize?: number): void {
  assert.throws(() => parse(bytes, fileSize), (error: unknown) => {
    assert.ok(error instanceof SafetensorsHeaderError, `expected SafetensorsHeaderError, got ${String(error)}`);
    assert.equal(error.rule, rule);
    assert.equal(error.exitCode, 1);
    assert.ok(error.message.startsWith(`${PATH}: invalid safetensors file: `), error.message);
    assert.match(error.message, message);
    return true;
  });
}

const entry = (dtype: string, shape: unknown, begin: unknown, end: unknown) => ({ dtype, shape, data_offsets: [begin, end] });
const header = (entries: Record<string, unknown>): string => JSON.stringify(entries);

test('parses a valid header: metadata, tensors in data order, scalars and zero-size tensors', () => {
  const text = header({
    'b.weight': entry('F16', [2, 3], 8, 20),
    __metadata__: { ema_sigma_rel: '0.05', ema_time: '1000' },
    'a.gain': entry('F32', [], 4, 8),
    empty: entry('BF16', [0, 7], 4, 4),
    first: entry('I32', [1], 0, 4),
  });
  const parsed = parse(file(`${text}    `, 20));
  assert.equal(parsed.headerLength, text.length + 4);
  assert.equal(parsed.dataStart, 8 + text.length + 4);
  assert.deepEqual(parsed.metadata, { ema_sigma_rel: '0.05', ema_time: '1000' });
  assert.deepEqual(parsed.tensors.map((t) => [t.name, t.begin, t.end, t.byteLength]),
    [['first', 0, 4, 4], ['empty', 4, 4, 0], ['a.gain', 4, 8, 4], ['b.weight', 8, 20, 12]]);
  assert.deepEqual(parsed.tensors[2].shape, []);
});

test('a header without tensors or metadata is a valid empty file', () => {
  assert.deepEqual(parse(file('{}', 0)).tensors, []);
});

test('keys such as "__proto__" stay ordinary names', () => {
  const parsed = parse(file('{"__metadata__":{"__proto__":"x"},"__proto__":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1));
  assert.equal(parsed.tensors[0].name, '__proto__');
  assert.equal(Object.getOwnPropertyDescriptor(parsed.metadata, '__proto__')?.value, 'x');
});

test('rejects a file shorter than the 8-byte length field', () => {
  rejects(new Uint8Array(5), 'file-too-short', /the file has 5 bytes, fewer than the 8-byte header length/);
});

test('rejects a zero header length', () => {
  rejects(file('', 10), 'header-length-zero', /header length is 0/);
});

test('rejects a header length over 100 MB before allocating, up to 2^64 - 1', () => {
  rejects(file('{}', 0, BigInt(MAX_HEADER_BYTES + 1)), 'header-length-too-large', /header length is 100000001 bytes, more than the limit of 100000000/, 2 ** 40);
  rejects(file('{}', 0, 2n ** 64n - 1n), 'header-length-too-large', /18446744073709551615 bytes/, 2 ** 40);
});

test('rejects a header length larger than the rest of the file, as truncated', () => {
  assert.throws(() => parse(file('{}', 0, 50n)), (error: SafetensorsHeaderError) =>
    error.rule === 'header-length-beyond-file' && /header length is 50 bytes but the file has only 2 bytes/.test(error.message) && /truncated/.test(error.hint ?? ''));
});

test('rejects a header that is not UTF-8, naming the offset', () => {
  const bytes = new TextEncoder().encode('{"a":"xy"}');
  bytes[7] = 0xff;
  rejects(file(bytes, 0), 'invalid-utf8', /not valid UTF-8 \(first bad byte near offset 7\)/);
});

test('rejects deep nesting without recursing', () => {
  rejects(file('['.repeat(1_000_000), 0), 'nesting-too-deep', /nests deeper than 16 levels/);
  rejects(file(`{"a":${'{"b":'.repeat(20)}1${'}'.repeat(21)}`, 0), 'nesting-too-deep', /deeper than 16/);
});

test('rejects arrays longer than 1024 elements before JSON.parse builds them', () => {
  rejects(file(`{"w":{"dtype":"U8","shape":[${'1,'.repeat(2_000_000)}1],"data_offsets":[0,1]}}`, 1), 'array-too-long',
    /the header holds an array of more than 1024 elements \(under key "shape"\)/);
  assert.equal(parse(file(`{"w":{"dtype":"U8","shape":[${'1,'.repeat(1023)}1],"data_offsets":[0,1]}}`, 1)).tensors[0].shape.length, 1024);
});

test('rejects invalid JSON', () => {
  rejects(file('{"a": ', 0), 'invalid-json', /not valid JSON/);
  rejects(file('\ufeff{}', 0), 'invalid-json', /not valid JSON/);
});

test('rejects JSON that is not an object', () => {
  rejects(file('[]', 0), 'not-an-object', /header is an array, expected a JSON object/);
  rejects(file('null', 0), 'not-an-object', /header is null/);
  rejects(file('"x"', 0), 'not-an-object', /header is string "x"/);
});

test('rejects duplicate keys, even when spelled with escapes', () => {
  const t = '{"dtype":"U8","shape":[1],"data_offsets":[0,1]}';
  rejects(file(`{"w":${t},"w":${t}}`, 1), 'duplicate-key', /key "w" appears twice at the top level/);
  rejects(file(`{"w":${t},"\\u0077":${t}}`, 1), 'duplicate-key', /key "w" appears twice/);
  rejects(file('{"w":{"dtype":"U8","dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), 'duplicate-key', /key "dtype" appears twice in entry "w"/);
  rejects(file('{"__metadata__":{"a":"1","a":"2"}}', 0), 'duplicate-key', /key "a" appears twice in entry "__metadata__"/);
});

test('rejects metadata that is not an object of strings', () => {
  rejects(file('{"__metadata__":{"ema_time":1000}}', 0), 'bad-metadata', /__metadata__ key "ema_time" is number 1000, expected a string/);
  rejects(file('{"__metadata__":["a"]}', 0), 'bad-metadata', /__metadata__ is an array, expected an object of strings/);
  rejects(file('{"__metadata__":null}', 0), 'bad-metadata', /__metadata__ is null/);
});

test('rejects entries that are not objects, miss a field or carry an unknown one', () => {
  rejects(file('{"w":[1,2]}', 0), 'bad-entry', /tensor "w": the entry is an array, expected an object/);
  rejects(file('{"w":{"dtype":"U8","shape":[0]}}', 0), 'bad-entry', /tensor "w": the entry has no "data_offsets"/);
  rejects(file('{"w":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"crc":1}}', 0), 'bad-entry', /tensor "w": unexpected field "crc"/);
});

test('rejects unknown dtypes, naming the tensor and the value', () => {
  rejects(file(header({ w: entry('F8_E4M3', [1], 0, 1) }), 1), 'unknown-dtype', /tensor "w": dtype "F8_E4M3" is not one of F64, F32/);
  rejects(file(header({ w: entry('f32', [1], 0, 4) }), 4), 'unknown-dtype', /dtype "f32"/);
});

test('rejects negative, fractional, too large or non-numeric shape dimensions', () => {
  rejects(file(header({ w: entry('U8', [2, -1], 0, 0) }), 0), 'bad-shape', /tensor "w": shape\[1\] is -1, expected a non-negative integer below 2\^53/);
  rejects(file(header({ w: entry('U8', [1.5], 0, 0) }), 0), 'bad-shape', /shape\[0\] is 1.5/);
  rejects(file('{"w":{"dtype":"U8","shape":[9007199254740992],"data_offsets":[0,0]}}', 0), 'bad-shape', /shape\[0\] is 9007199254740992/);
  rejects(file(header({ w: entry('U8', ['3'], 0, 0) }), 0), 'bad-shape', /shape\[0\] is "3"/);
  rejects(file(header({ w: entry('U8', 3, 0, 0) }), 0), 'bad-shape', /shape is number 3, expected an array/);
  rejects(file(header({ w: entry('F64', [2 ** 26, 2 ** 26], 0, 0) }), 0), 'bad-shape', /shape \[67108864,67108864\] holds more than 2\^53 bytes/);
});

test('rejects negative, fractional, too large or malformed data_offsets', () => {
  rejects(file(header({ w: entry('U8', [1], -1, 0) }), 0), 'bad-offsets', /tensor "w": data_offsets begin is -1/);
  rejects(file(header({ w: entry('U8', [1], 0, 0.5) }), 0), 'bad-offsets', /data_offsets end is 0.5/);
  rejects(file('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,9007199254740993]}}', 0), 'bad-offsets', /data_offsets end is 9007199254740992, expected a non-negative integer below 2\^53/);
  rejects(file(header({ w: entry('U8', [0], 4, 2) }), 4), 'bad-offsets', /data_offsets \[4, 2\] ends before it begins/);
  rejects(file('{"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}}', 1), 'bad-offsets', /data_offsets is \[0,1,2\], expected \[begin, end\]/);
});

test('rejects a byte range that does not match shape times dtype size', () => {
  rejects(file(header({ w: entry('F32', [2, 3], 0, 12) }), 12), 'size-mismatch', /tensor "w": data_offsets \[0, 12\] span 12 bytes but F32 shape \[2,3\] needs 24/);
});

test('rejects overlapping tensors, naming both', () => {
  rejects(file(header({ a: entry('U8', [4], 0, 4), b: entry('U8', [4], 2, 6) }), 6), 'overlap', /tensor "b" \[2, 6\] overlaps tensor "a" \[0, 4\]/);
  rejects(file(header({ a: entry('U8', [4], 0, 4), z: entry('U8', [0], 2, 2) }), 4), 'overlap', /tensor "a" \[0, 4\] overlaps tensor "z"|tensor "z" \[2, 2\] overlaps/);
});

test('rejects gaps between tensors and before the first one', () => {
  rejects(file(header({ a: entry('U8', [4], 0, 4), b: entry('U8', [2], 6, 8) }), 8), 'gap', /gap of 2 bytes between tensor "a" \(ends at 4\) and tensor "b" \(begins at 6\)/);
  rejects(file(header({ b: entry('U8', [2], 3, 5) }), 5), 'gap', /gap of 3 bytes between the start of the data section and tensor "b"/);
});

test('rejects a tensor that ends beyond the file, as truncated', () => {
  assert.throws(() => parse(file(header({ a: entry('F32', [4], 0, 16) }), 10)), (error: SafetensorsHeaderError) =>
    error.rule === 'truncated'
    && /tensor "a": data_offsets end 16 is beyond the 10-byte data section: the file looks truncated/.test(error.message)
    && /training job is still writing/.test(error.hint ?? ''));
});

test('rejects data bytes that belong to no tensor', () => {
  rejects(file(header({ a: entry('U8', [4], 0, 4) }), 7), 'trailing-data', /data section has 7 bytes but the tensors cover only 4: 3 bytes at the end belong to no tensor/);
});

test('echoes hostile values only in short form', () => {
  const long = 'X'.repeat(10_000);
  assert.throws(() => parse(file(header({ w: entry(long, [1], 0, 1) }), 1)), (error: Error) => error.message.length < 400);
});
