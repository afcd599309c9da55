import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { InputFileError, UsageError } from '../src/errors.js';
import { areaResize, areaTaps } from '../src/train/data/area-resize.js';
import { BatchSampler } from '../src/train/data/batch.js';
import { createShapesDataset } from '../src/train/data/builtin-shapes.js';
import type { ImageDataset } from '../src/train/data/dataset.js';
import { heldOutNames } from '../src/train/data/held-out-split.js';
import { loadImageFolder } from '../src/train/data/image-folder.js';
import { openDataset } from '../src/train/data/open-dataset.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ema-synth-data-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function png(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Buffer {
  const image = new pngjs.PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      image.data.set([r, g, b, 255], (y * width + x) * 4);
    }
  }
  return pngjs.PNG.sync.write(image);
}

async function folder(name: string, files: Record<string, Buffer>): Promise<string> {
  const path = join(root, name);
  await import('node:fs/promises').then((fs) => fs.mkdir(path));
  for (const [file, bytes] of Object.entries(files)) await writeFile(join(path, file), bytes);
  return path;
}

describe('area downsampling', () => {
  test('an integer factor is the plain block mean', () => {
    // 4x4 single channel, value = 4y + x; 2x2 block means by hand: 2.5, 4.5, 10.5, 12.5.
    const input = Float32Array.from({ length: 16 }, (_, i) => i);
    assert.deepEqual([...areaResize(input, 4, 4, 1, 2, 2)], [2.5, 4.5, 10.5, 12.5]);
  });

  test('a fractional factor weights partial pixels by overlap', () => {
    // 3 -> 2: output 0 covers [0, 1.5): input 0 fully, input 1 half -> weights 2/3, 1/3.
    assert.deepEqual(areaTaps(3, 2).map((row) => row.map(([i, w]) => [i, Number(w.toFixed(12))])), [
      [[0, 0.666666666667], [1, 0.333333333333]],
      [[1, 0.333333333333], [2, 0.666666666667]],
    ]);
    // Mean is preserved for any factor.
    const input = Float32Array.from({ length: 5 * 5 * 2 }, (_, i) => Math.sin(i));
    const out = areaResize(input, 5, 5, 2, 3, 3);
    const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
    assert.ok(Math.abs(mean(out) - mean(input)) < 1e-6);
  });
});

describe('image folders', () => {
  test('loads PNG and JPEG, downsamples with --resolution, and holds images out by name', async () => {
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 9; i++) files[`img${i}.png`] = png(4, 4, (x) => [x * 60, 10 * i, 0]);
    const rgba = Buffer.alloc(4 * 4 * 4, 200);
    files['photo.jpg'] = jpeg.encode({ data: rgba, width: 4, height: 4 }, 100).data;
    const path = await folder('mixed-formats', files);
    const dataset = await loadImageFolder(path, 2);
    assert.equal(dataset.channels, 3);
    assert.equal(dataset.resolution, 2);
    assert.equal(dataset.trainCount! + dataset.heldOutCount, 10);
    assert.equal(dataset.heldOutCount, 1);
    const out = new Float32Array(2 * 2 * 3);
    dataset.readHeldOut(0, out, 0);
    assert.ok(out.every((v) => v >= -1 && v <= 1));
  });

  test('greyscale images give one channel', async () => {
    const path = await folder('grey', { 'a.png': png(2, 2, () => [7, 7, 7]), 'b.png': png(2, 2, () => [255, 255, 255]) });
    const dataset = await loadImageFolder(path, undefined);
    assert.equal(dataset.channels, 1);
    assert.equal(dataset.trainCount, 1);
    const out = new Float32Array(4);
    dataset.readTrain(0, out, 0);
    // pixel / 127.5 - 1 (MPUNET.md section 4), for whichever of the two images is in training.
    assert.ok(out.every((v) => Math.abs(v - (7 / 127.5 - 1)) < 1e-6) || out.every((v) => Math.abs(v - 1) < 1e-6));
  });

  test('mixed image sizes are refused naming both files and sizes', async () => {
    const path = await folder('mixed-sizes', { 'a.png': png(4, 4, () => [0, 0, 0]), 'b.png': png(8, 8, () => [0, 0, 0]) });
    await assert.rejects(loadImageFolder(path, undefined), (error: unknown) => {
      assert.ok(error instanceof InputFileError);
      assert.match(error.message, /b\.png: image is 8x8, expected 4x4 like a\.png/);
      return true;
    });
  });

  test('non-square images, empty folders and upsampling are refused clearly', async () => {
    const wide = await folder('wide', { 'a.png': png(4, 2, () => [0, 0, 0]) });
    await assert.rejects(loadImageFolder(wide, undefined), /a\.png: image is 4x2, expected a square image/);
    const empty = await folder('empty', { 'notes.txt': Buffer.from('x') });
    await assert.rejects(loadImageFolder(empty, undefined), /no \.png, \.jpg or \.jpeg files found/);
    const small = await folder('small', { 'a.png': png(4, 4, () => [0, 0, 0]) });
    await assert.rejects(loadImageFolder(small, 8), (error: unknown) => error instanceof UsageError && /--resolution 8 is larger than the images \(4x4\)/.test(error.message));
  });

  test('a corrupt file is named in the error', async () => {
    const path = await folder('corrupt', { 'bad.png': Buffer.from('not a png') });
    await assert.rejects(loadImageFolder(path, undefined), /bad\.png: cannot decode PNG/);
  });

  test('the held-out split depends only on the names', () => {
    const names = Array.from({ length: 50 }, (_, i) => `image-${i}.png`);
    const held = heldOutNames(names);
    assert.equal(held.size, 5);
    assert.deepEqual([...heldOutNames([...names].reverse())].sort(), [...held].sort());
    assert.equal(heldOutNames(['only.png']).size, 0);
    assert.equal(heldOutNames(['a.png', 'b.png']).size, 1);
  });
});

describe('builtin:shapes', () => {
  test('is deterministic, in range, and keeps held-out images apart from training images', () => {
    const a = createShapesDataset('shapes', 16);
    const b = createShapesDataset('shapes', 16);
    const size = 16 * 16 * 3;
    const x = new Float32Array(size);
    const y = new Float32Array(size);
    a.readTrain(5, x, 0);
    b.readTrain(5, y, 0);
    assert.deepEqual(x, y);
    assert.ok(x.every((v) => v >= -1 && v <= 1));
    b.readHeldOut(5, y, 0);
    assert.notDeepEqual(x, y);
    // Not a flat image: at least two distinct colours.
    assert.ok(new Set(x).size > 2);
  });

  test('unknown built-in names are a usage error listing the choices', async () => {
    await assert.rejects(openDataset('builtin:faces', 8), /unknown built-in data set, expected one of builtin:shapes, builtin:shapes-gray/);
  });
});

describe('batch order', () => {
  test('each epoch visits every training image once, in an order fixed by (seed, epoch)', () => {
    const fake: ImageDataset = {
      source: 'fake', resolution: 1, channels: 1, trainCount: 10, heldOutCount: 0,
      readTrain: (index, target, offset) => { target[offset] = index; },
      readHeldOut: () => undefined,
    };
    const sampler = new BatchSampler(fake, 7);
    const epoch0 = Array.from({ length: 10 }, (_, p) => sampler.indexAt(p));
    const epoch1 = Array.from({ length: 10 }, (_, p) => sampler.indexAt(10 + p));
    assert.deepEqual([...epoch0].sort((p, q) => p - q), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual([...epoch1].sort((p, q) => p - q), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.notDeepEqual(epoch0, epoch1);
    // A fresh sampler (as after resume) gives the same batch for the same position.
    assert.deepEqual([...new BatchSampler(fake, 7).batch(13, 4)], [13, 14, 15, 16].map((p) => sampler.indexAt(p)));
  });
});
