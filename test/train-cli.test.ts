import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pngjs from 'pngjs';
import { runCli } from './train-helpers.js';

const FIXTURE = join('fixtures', 'train-run', 'snapshots', 'network-snapshot-0000008-0.100.safetensors');
let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ema-synth-train-cli-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('ema-synth train: refusals', () => {
  test('refuses a non-empty run folder without --resume or --force (exit 1, as an existing output in reconstruct)', async () => {
    const dir = join(root, 'busy');
    await mkdir(dir);
    await writeFile(join(dir, 'notes.txt'), 'keep me');
    const result = await runCli(['train', '--data', 'builtin:shapes', '--out', dir, '--backend', 'cpu']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--out .*busy: the folder is not empty/);
    assert.match(result.stderr, /hint: use --resume/);
    assert.equal(await readFile(join(dir, 'notes.txt'), 'utf8'), 'keep me');
  });

  test('--resume needs a checkpoint', async () => {
    const result = await runCli(['train', '--out', join(root, 'nothing'), '--resume', '--backend', 'cpu']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /--resume: .*checkpoint\.safetensors does not exist/);
  });

  for (const [flags, message] of [
    [['--batch', '0'], /--batch 0: expected an integer >= 1/],
    [['--batch', '8', '--duration', '12'], /--duration 12: must be a multiple of the batch size 8/],
    [['--ema-sigma-rel', '0.05,0.5'], /--ema-sigma-rel 0\.5: must be in \(0, 0\.288675\)/],
    [['--backend', 'gpu'], /--backend gpu: expected one of auto, tensorflow-gpu, tensorflow, wasm, cpu/],
    [['--config', 'huge'], /--config huge: unknown run preset, expected one of tiny, small16/],
    [['--net', 'depth=3'], /--net depth=3: expected KEY=VALUE/],
  ] as const) {
    test(`rejects ${flags.join(' ')} naming the flag (exit 2)`, async () => {
      const out = join(root, `bad-${flags.join('')}`);
      const result = await runCli(['train', '--data', 'builtin:shapes', '--out', out, '--backend', 'cpu', ...flags]);
      assert.equal(result.code, 2, result.stderr);
      assert.match(result.stderr, message);
      assert.equal(result.stdout, '');
      assert.equal(existsSync(out), false, 'a refused run must not create its folder');
    });
  }

  test('a data folder of mixed image sizes fails with exit 1 naming the file', async () => {
    const data = join(root, 'mixed');
    await mkdir(data);
    for (const [name, side] of [['a.png', 4], ['b.png', 6]] as const) {
      const png = new pngjs.PNG({ width: side, height: side });
      png.data.fill(255);
      await writeFile(join(data, name), pngjs.PNG.sync.write(png));
    }
    const result = await runCli(['train', '--data', data, '--out', join(root, 'mixed-run'), '--backend', 'cpu']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /error: .*b\.png: image is 6x6, expected 4x4 like a\.png/);
  });
});

describe('ema-synth sample and evaluate on the committed run', () => {
  test('sample writes a PNG grid sized from the count and resolution', async () => {
    const out = join(root, 'grid.png');
    const result = await runCli(['sample', FIXTURE, '--out', out, '--count', '4', '--steps', '2', '--scale', '3', '--backend', 'cpu']);
    assert.equal(result.code, 0, result.stderr);
    const png = pngjs.PNG.sync.read(await readFile(out));
    // 2 columns of 8x8 images, 3x: tiles of 24 px, with 3 px gaps (an eighth of a tile) between and around.
    assert.equal(png.width, 2 * 8 * 3 + 3 * 3);
    assert.equal(png.height, 2 * 8 * 3 + 3 * 3);
    assert.match(result.stdout, /wrote .*grid\.png \(4 images, 57x57 px/);
    const again = await runCli(['sample', FIXTURE, '--out', out, '--count', '4', '--backend', 'cpu']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
  });

  test('evaluate is deterministic and prints the metric as the last number on stdout', async () => {
    const args = ['evaluate', FIXTURE, '--count', '4', '--sigmas', '0.5,2', '--backend', 'cpu'];
    const text = await runCli(args);
    const json = await runCli([...args, '--json']);
    assert.equal(text.code, 0, text.stderr);
    assert.equal(json.code, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { metric: number; perSigma: Array<{ sigma: number; loss: number }>; images: number; data: string };
    assert.equal(report.images, 4);
    assert.equal(report.data, 'builtin:shapes'); // from the snapshot's metadata
    // Independent arithmetic: the metric is the mean of the per-level losses.
    assert.ok(Math.abs(report.metric - (report.perSigma[0].loss + report.perSigma[1].loss) / 2) < 1e-12);
    const numbers = (s: string): number[] => (s.match(/-?\d+(\.\d+)?(e[-+]?\d+)?/gi) ?? []).map(Number);
    assert.ok(Math.abs(numbers(text.stdout).at(-1)! - report.metric) < 1e-7 * report.metric);
    assert.equal(numbers(json.stdout).at(-1), report.metric);
    const again = await runCli([...args, '--json']);
    assert.equal(JSON.parse(again.stdout).metric, report.metric);
    // Noise depends on (seed, image, level) only, so the batch size does not change the problem.
    const smallBatches = await runCli([...args, '--json', '--batch', '3']);
    assert.ok(Math.abs(JSON.parse(smallBatches.stdout).metric - report.metric) < 1e-6 * report.metric);
    const otherSeed = await runCli([...args, '--json', '--seed', '1']);
    assert.notEqual(JSON.parse(otherSeed.stdout).metric, report.metric);
  });

  test('evaluate refuses a training checkpoint with a hint', async () => {
    const dir = join(root, 'one-step');
    const trained = await runCli(['train', '--data', 'builtin:shapes', '--out', dir, '--batch', '4', '--duration', '4', '--backend', 'cpu', '--json']);
    assert.equal(trained.code, 0, trained.stderr);
    assert.equal(JSON.parse(trained.stdout).curNimg, 4);
    const changed = await runCli(['train', '--out', dir, '--resume', '--duration', '8', '--net', 'modelChannels=16', '--backend', 'cpu']);
    assert.equal(changed.code, 2);
    assert.match(changed.stderr, /--resume continues the run as configured; these differ: network modelChannels \(run: 8, given: 16\)/);
    const result = await runCli(['evaluate', join(dir, 'checkpoint.safetensors'), '--backend', 'cpu']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /this is a training checkpoint, not a snapshot/);
    const forced = await runCli(['train', '--data', 'builtin:shapes', '--out', dir, '--batch', '4', '--duration', '4', '--backend', 'cpu', '--force']);
    assert.equal(forced.code, 0, forced.stderr);
  });
});

describe('ema-synth train on a folder of images', () => {
  test('downsamples 16x16 PNGs to --resolution 8, records the folder, and evaluates on its held-out split', async () => {
    const data = join(root, 'pngs');
    await mkdir(data);
    for (let i = 0; i < 6; i++) {
      const png = new pngjs.PNG({ width: 16, height: 16 });
      for (let p = 0; p < 256; p++) png.data.set([(p * 7 + i * 40) % 256, (p * 3) % 256, i * 30, 255], p * 4);
      await writeFile(join(data, `img-${i}.png`), pngjs.PNG.sync.write(png));
    }
    const run = join(root, 'folder-run');
    const trained = await runCli(['train', '--data', data, '--resolution', '8', '--out', run, '--batch', '2', '--duration', '2', '--snapshot-every', '2', '--backend', 'cpu', '--json']);
    assert.equal(trained.code, 0, trained.stderr);
    const summary = JSON.parse(trained.stdout) as { config: { data: string; network: { resolution: number; channels: number } } };
    assert.equal(summary.config.data, data); // absolute already (tmpdir), recorded as given
    assert.deepEqual([summary.config.network.resolution, summary.config.network.channels], [8, 3]);
    const snapshot = join(run, 'snapshots', 'network-snapshot-img0000000002-0.050.safetensors');
    const evaluated = await runCli(['evaluate', snapshot, '--sigmas', '1', '--backend', 'cpu', '--json']);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    const report = JSON.parse(evaluated.stdout) as { data: string; images: number };
    assert.equal(report.data, data);
    assert.equal(report.images, 1); // 10% of 6 images, at least one, held out by name
  });
});
