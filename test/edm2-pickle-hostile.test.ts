import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputFileError } from '../src/errors.js';
import { openEdm2Pickle } from '../src/pytorch/edm2-pickle-source.js';
import { writeEdm2Pickle, type BuilderOptions, type BuilderTensor } from '../fixtures/edm2-pickle-builder.js';
import { makeTempDir, runCli } from './helpers/cli.js';

function tensors(): BuilderTensor[] {
  const fill = (seed: number) => (offset: number, target: Uint8Array): void => { for (let i = 0; i < target.byteLength; i++) target[i] = (seed + offset + i) % 61; };
  return [
    { name: 'unet.out_gain', dtype: 'F16', shape: [], kind: 'parameter', fill: fill(1) },
    { name: 'unet.emb_fourier.freqs', dtype: 'F16', shape: [8], kind: 'buffer', fill: fill(2) },
    { name: 'unet.enc.8x8_conv.weight', dtype: 'F16', shape: [8, 5, 3, 3], kind: 'parameter', fill: fill(3) },
    { name: 'unet.dec.8x8_block0.conv_res0.weight', dtype: 'F32', shape: [4, 6], kind: 'parameter', fill: fill(4) },
  ];
}

async function build(t: { after(fn: () => void): void }, options: BuilderOptions = {}): Promise<string> {
  const dir = makeTempDir(t);
  const path = join(dir, 'network-snapshot-0000004-0.050.pkl');
  await writeEdm2Pickle(path, tensors(), options);
  return path;
}

test('a module_src holding a payload is read as data: nothing runs, no marker file appears', async (t) => {
  const dir = makeTempDir(t);
  const marker = join(dir, 'MARKER');
  const payload = `import os\nos.system(${JSON.stringify(`touch ${marker}`)})\nopen(${JSON.stringify(marker)}, 'w').write('ran')\n`;
  const path = await build(t, { moduleSrc: payload });
  const source = await openEdm2Pickle(path);
  assert.equal(source.tensors.length, 4);
  assert.ok(source.layout.classes.every((c) => c.sourceBytes === payload.length), 'the source is kept as an inert string');
  const bytes = new Uint8Array(source.tensors[2].byteLength);
  await source.read(source.tensors[2].name, 0, bytes);
  await source.close();
  const result = await runCli(['inspect', join(path, '..')]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /persistent classes \(source stored in the file, never run\): Precond \(\d+ bytes/);
  assert.equal(existsSync(marker), false, 'the module source was executed');
});

test('os.system in a reduce is refused by name, naming the file', async (t) => {
  const path = await build(t, {
    extraEntries: (p) => { p.str('evil'); p.global('os', 'system'); p.str('touch /tmp/ema-synth-pwned'); p.op(0x85, 0x52); },
  });
  await assert.rejects(openEdm2Pickle(path), (error: unknown) => error instanceof InputFileError && /network-snapshot-0000004-0\.050\.pkl: refused to load global os\.system/.test(error.message));
  const result = await runCli(['inspect', join(path, '..')]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: .*network-snapshot-0000004-0\.050\.pkl: refused to load global os\.system/m);
  assert.equal(result.stderr.split('\n').filter((line) => line.startsWith('error:')).length, 1);
});

test('a malicious global nested in a _load_from_bytes payload is refused by name', async (t) => {
  const path = await build(t, { payloadGlobal: { tensor: 'unet.enc.8x8_conv.weight', global: 'os\nsystem' } });
  await assert.rejects(openEdm2Pickle(path), /refused to load global os\.system inside a storage payload/);
  const builtins = await build(t, { payloadGlobal: { tensor: 'unet.out_gain', global: 'builtins\neval' } });
  await assert.rejects(openEdm2Pickle(builtins), /refused to load global builtins\.eval inside a storage payload/);
});

test('sizes that lie are refused: element counts, storages shorter than their tensor, truncated payloads', async (t) => {
  const counted = await build(t, { lyingCount: { tensor: 'unet.enc.8x8_conv.weight', delta: 5 } });
  await assert.rejects(openEdm2Pickle(counted), /says 365 elements before its data, but 360 in its description/);
  const short = await build(t, { shortStorage: { tensor: 'unet.dec.8x8_block0.conv_res0.weight', delta: 3 } });
  await assert.rejects(openEdm2Pickle(short), /tensor view \(offset 0, size \[4,6\], stride \[6,1\]\) reaches past storage \d+ \(21 elements\)/);
  const whole = readFileSync(await build(t));
  const dir = makeTempDir(t);
  const truncated = join(dir, 'cut.pkl');
  writeFileSync(truncated, whole.subarray(0, whole.length - 300));
  await assert.rejects(openEdm2Pickle(truncated), (error: unknown) => error instanceof InputFileError && /cut\.pkl: truncated/.test(error.message));
});

test('a pickle without an ema network is refused, listing its keys', async (t) => {
  const path = await build(t, { networkKey: 'net' });
  await assert.rejects(openEdm2Pickle(path), /has no "ema" entry; its keys are: encoder, dataset_kwargs, loss_fn, net/);
  const source = await openEdm2Pickle(path, { key: 'net' });
  assert.equal(source.tensors.length, 4);
  await source.close();
});

test('mutated EDM2 pickles fail only with InputFileError, and reads of those that open stay inside the file (fuzz, fixed seed)', async (t) => {
  const whole = readFileSync(await build(t));
  const dir = makeTempDir(t);
  let seed = 20261202;
  const random = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const rounds = Number(process.env.EMA_SYNTH_FUZZ_ROUNDS ?? 600);
  let refused = 0;
  for (let round = 0; round < rounds; round++) {
    const bytes = Uint8Array.from(whole);
    for (let m = 1 + random(4); m > 0; m--) bytes[random(bytes.length)] = random(256);
    const cut = random(8) === 0 ? bytes.subarray(0, random(bytes.length)) : bytes;
    const path = join(dir, `fuzz-${round % 4}.pkl`);
    writeFileSync(path, cut);
    try {
      const source = await openEdm2Pickle(path);
      for (const tensor of source.tensors) await source.read(tensor.name, 0, new Uint8Array(tensor.byteLength));
      await source.close();
    } catch (error) {
      assert.ok(error instanceof InputFileError, `round ${round}: ${(error as Error).stack}`);
      refused++;
    }
  }
  assert.ok(refused > rounds / 10, `only ${refused} of ${rounds} mutations were refused`);
});
