/**
 * Issue 20: what a newcomer following the README trips over. One test per behaviour that changed:
 * error texts in our words, hints for the usual mistakes, exit codes as the README's table says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { layoutGrid } from '../src/train/image-grid.js';
import { sigmaRelToGamma } from '../src/phema/profile.js';
import { describeSparseUpdates } from '../src/pytorch/ema-pytorch-sparse.js';
import { beyondEdge, edgeOf } from '../src/sweep/grid-edge.js';
import type { SweepTarget } from '../src/sweep/report.js';
import { FIXTURES, makeTempDir, REPO_DIR, runCli } from './helpers/cli.js';

const F32_DIR = join(FIXTURES, 'snapshots-f32');
const TRAIN_SNAPSHOT = join(FIXTURES, 'train-run/snapshots/network-snapshot-0000008-0.100.safetensors');

/** Exactly one `error:` line (plus an optional `hint:`), no stack, none of Node's raw texts. */
function assertOneErrorLine(stderr: string, pattern: RegExp, what: string): void {
  const lines = stderr.trimEnd().split('\n').filter((line) => !line.startsWith('hint: '));
  assert.equal(lines.length, 1, `${what}: ${stderr}`);
  assert.match(lines[0], /^error: /, what);
  assert.match(lines[0], pattern, what);
  assert.doesNotMatch(stderr, /ENOENT|ENOTDIR|scandir|no such file or directory|\n\s+at /, what);
}

test('--sigma-rel 0 and negative values are called too small, not too wide', async () => {
  for (const value of ['0', '-0.1']) {
    const result = await runCli(['reconstruct', F32_DIR, '--sigma-rel', value, '--dry-run']);
    assert.equal(result.code, 2, result.stderr);
    assertOneErrorLine(result.stderr, /outside \(0, 0\.288675\): an EMA length must be positive/, value);
    assert.doesNotMatch(result.stderr, /wide/);
  }
  const wide = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.3', '--dry-run']);
  assert.match(wide.stderr, /cannot be that wide/);
});

test('missing input files and folders get one error line in our words naming the path', async (t) => {
  const dir = makeTempDir(t);
  const cases: Array<[string[], RegExp]> = [
    [['convert', join(dir, 'nosuch.pt'), join(dir, 'out.safetensors')], /nosuch\.pt: cannot read \(no such file\)/],
    [['train', '--data', join(dir, 'nosuchdir'), '--out', join(dir, 'run'), '--config', 'tiny', '--duration', '8'], /--data .*nosuchdir: cannot list the image folder \(no such folder\)/],
    [['evaluate', TRAIN_SNAPSHOT, '--data', join(dir, 'nosuchdir')], /--data .*nosuchdir: cannot list the image folder \(no such folder\)/],
    [['evaluate', TRAIN_SNAPSHOT, '--data', TRAIN_SNAPSHOT], /--data .*\.safetensors: cannot list the image folder \(not a folder\)/],
    [['sample', join(dir, 'nosuch.safetensors'), '--out', join(dir, 'grid.png')], /nosuch\.safetensors: cannot open for reading \(no such file\)/],
    [['inspect', join(dir, 'nosuchdir')], /nosuchdir: cannot list snapshots \(no such folder\)/],
  ];
  for (const [args, pattern] of cases) {
    const result = await runCli(args);
    assert.equal(result.code, 1, `${args.join(' ')}: ${result.stderr}`);
    assertOneErrorLine(result.stderr, pattern, args[0]);
  }
  assert.equal(existsSync(join(dir, 'run')), false, 'train checks --data before creating the run folder');
});

test('a list given as separate words ("too many arguments") gets a hint with the comma-separated form', async () => {
  const result = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.05', '0.06', '0.07', '--dry-run']);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /too many arguments/);
  assert.match(result.stderr, /^hint: --sigma-rel takes one comma-separated list, without spaces: --sigma-rel 0\.05,0\.06,0\.07$/m);
  const unrelated = await runCli(['reconstruct', F32_DIR, 'extra', '--sigma-rel', '0.05', '--dry-run']);
  assert.equal(unrelated.code, 2);
  assert.doesNotMatch(unrelated.stderr, /hint: --sigma-rel/, 'no list hint when the stray word is not a number');
  const percent = await runCli(['reconstruct', F32_DIR, '--half-life', '5%', '10%', '--dry-run']);
  assert.equal(percent.code, 2);
  assert.match(percent.stderr, /^hint: --half-life takes one comma-separated list, without spaces: --half-life 5%,10%$/m);
});

test('exit codes follow the README: a checkpoint without network metadata is bad input (1)', async (t) => {
  const dir = makeTempDir(t);
  const plain = join(F32_DIR, 'snapshot-0000065-0.050.safetensors');
  for (const args of [['evaluate', plain, '--backend', 'cpu'], ['sample', plain, '--out', join(dir, 'grid.png'), '--backend', 'cpu']]) {
    const result = await runCli(args);
    assert.equal(result.code, 1, `${args[0]}: ${result.stderr}`);
    assert.match(result.stderr, /does not say which network it holds.*\nhint: pass --config tiny/);
  }
});

const QUADRATIC = `node ${join(FIXTURES, 'eval/quadratic.mjs')} {sigma_rel}`;

test('sweep warns about poorly fitted targets as reconstruct does, and marks them in the table', async () => {
  const grid = '0.02,0.04,...,0.24';
  const swept = await runCli(['sweep', F32_DIR, '--sigma-rel', grid]);
  assert.equal(swept.code, 0, swept.stderr);
  const alone = await runCli(['reconstruct', F32_DIR, '--sigma-rel', grid, '--dry-run', '--json']);
  const warnings = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('warning: sigma_rel')).sort();
  assert.ok(warnings(alone.stderr).length > 0, 'the grid includes targets reconstruct warns about');
  assert.deepEqual(warnings(swept.stderr), warnings(alone.stderr));
  // Every row: the fit error in percent (reconstruct's JSON keeps the fraction), "poor fit" exactly above 5%.
  for (const target of JSON.parse(alone.stdout).targets as Array<{ sigma_rel: number; fit_error: number }>) {
    const label = target.sigma_rel.toFixed(2);
    const row = swept.stdout.split('\n').find((l) => l.trim().startsWith(label))!;
    assert.ok(row.includes(`${(target.fit_error * 100).toFixed(3)}%`), `${label}: ${row}`);
    assert.equal(/poor fit/.test(row), target.fit_error > 0.05, row);
  }
  assert.match(swept.stdout, /^poor fit: fit error above 5%/m);
});

test('sweep says when the best lies at the edge of the grid', async (t) => {
  const dir = makeTempDir(t);
  // Truth: the metric (sigma_rel - 0.11)^2 is smallest at 0.11, below this grid: best 0.12, its lower edge.
  const edge = await runCli(['sweep', F32_DIR, '--sigma-rel', '0.12,0.14,...,0.20', '--eval-cmd', QUADRATIC, '--out-dir', join(dir, 'edge')]);
  assert.equal(edge.code, 0, edge.stderr);
  assert.match(edge.stdout, /^best: sigma_rel 0\.12 /m);
  // Truth: the fixture tracks sigma_rel 0.10, so the next step below the grid fits exactly.
  assert.match(edge.stdout, /^note: the best, sigma_rel 0\.12, lies at the lower edge of the grid: the optimum may lie below it; extend the grid: sigma_rel 0\.1 still fits well \(fit error 0\.000%\)$/m);
  const json = await runCli(['sweep', F32_DIR, '--sigma-rel', '0.12,0.14,...,0.20', '--eval-cmd', QUADRATIC, '--out-dir', join(dir, 'edge'), '--json']);
  assert.equal(JSON.parse(json.stdout).best.at_edge, 'lower');
  // Truth: with its optimum at 0.01, the train-run fixture's best is 0.04, and one step below, 0.03,
  // fits those snapshots poorly (10.090%, as `inspect` reports): the note says the grid cannot go further.
  const train = await runCli(['sweep', join(FIXTURES, 'train-run/snapshots'), '--sigma-rel', '0.04,0.05,...,0.08', '--eval-cmd', `${QUADRATIC} 0.01`, '--out-dir', join(dir, 'train')]);
  assert.equal(train.code, 0, train.stderr);
  assert.match(train.stdout, /^note: the best, sigma_rel 0\.04, lies at the lower edge of the grid: the optimum may lie below it; but these snapshots cannot go much further: sigma_rel 0\.03 would fit poorly \(fit error 10\.090%\)/m);
  // Truth: 0.10 and 0.12 are equally far from 0.11, 0.10 comes first; both have neighbours.
  const inside = await runCli(['sweep', F32_DIR, '--sigma-rel', '0.06,0.08,...,0.16', '--eval-cmd', QUADRATIC, '--out-dir', join(dir, 'inside'), '--json']);
  assert.equal(JSON.parse(inside.stdout).best.at_edge, null);
  // Truth: maximising, 0.18 (farthest from 0.11) wins, the grid's upper edge.
  const maximized = await runCli(['sweep', F32_DIR, '--sigma-rel', '0.06,0.08,...,0.18', '--eval-cmd', QUADRATIC, '--out-dir', join(dir, 'max'), '--maximize', '--json']);
  assert.equal(JSON.parse(maximized.stdout).best.sigma_rel, 0.18);
  assert.equal(JSON.parse(maximized.stdout).best.at_edge, 'upper');
});

test('a sweep whose every evaluation fails exits 1 and shows each stderr tail, on stderr and in the table', async (t) => {
  const dir = makeTempDir(t);
  const failing = 'echo "Traceback (most recent call last):" >&2; echo "ValueError: no model at {sigma_rel}" >&2; exit 3';
  const result = await runCli(['sweep', F32_DIR, '--sigma-rel', '0.05,0.1', '--eval-cmd', failing, '--out-dir', dir]);
  assert.equal(result.code, 1, result.stderr);
  for (const sigma of ['0.05', '0.1']) {
    assert.match(result.stderr, new RegExp(`warning: sigma_rel ${sigma}: evaluation failed \\(exited with code 3\\); the end of its stderr:\\n  \\| Traceback \\(most recent call last\\):\\n  \\| ValueError: no model at ${sigma}\\n`));
    assert.match(result.stdout, new RegExp(`failed: exited with code 3: ValueError: no model at ${sigma}\\n`));
  }
  assert.match(result.stderr, /^error: no evaluation succeeded: 2 of 2 targets failed/m);
  const json = await runCli(['sweep', F32_DIR, '--sigma-rel', '0.05,0.1', '--eval-cmd', failing, '--out-dir', dir, '--json']);
  assert.equal(json.code, 1);
  assert.equal(JSON.parse(json.stdout).best, null, 'the JSON document is still printed whole');
  const partly = await runCli(['sweep', F32_DIR, '--sigma-rel', '0.05,0.1', '--eval-cmd', `test {sigma_rel} = 0.1 && ${QUADRATIC}`, '--out-dir', join(dir, 'partly')]);
  assert.equal(partly.code, 0, 'one success is a result');
  assert.match(partly.stderr, /warning: sigma_rel 0\.05: evaluation failed \(exited with code 1\); it printed nothing on stderr/);
});

test('rerunning a finished sweep with --refine adds nothing and prints the same', async (t) => {
  const dir = makeTempDir(t);
  const args = ['sweep', F32_DIR, '--sigma-rel', '0.02,0.04,...,0.24', '--eval-cmd', QUADRATIC, '--out-dir', dir, '--refine', '6'];
  const first = await runCli(args);
  assert.equal(first.code, 0, first.stderr);
  const lines = readFileSync(join(dir, 'sweep.jsonl'), 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.filter((l) => JSON.parse(l).phase === 'refine').length, 6);
  const second = await runCli(args);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(second.stdout, first.stdout);
  assert.equal(readFileSync(join(dir, 'sweep.jsonl'), 'utf8').split('\n').filter(Boolean).length, lines.length, 'nothing evaluated again');
  // Asking for more refinement continues from the recorded steps: at most two more (fewer once converged).
  const more = await runCli([...args.slice(0, -1), '8']);
  assert.equal(more.code, 0, more.stderr);
  const added = readFileSync(join(dir, 'sweep.jsonl'), 'utf8').split('\n').filter(Boolean).length - lines.length;
  assert.ok(added >= 1 && added <= 2, `added ${added}`);
});

test('outputs get the format their extension names, or are refused with the supported extensions', async (t) => {
  const dir = makeTempDir(t);
  const refusals: Array<[string[], RegExp, RegExp]> = [
    [['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', join(dir, 'model.pt')], /--out .*model\.pt: ema-synth does not write \.pt checkpoints/, /^hint: supported extensions: \.safetensors, \.pkl$/m],
    [['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', join(dir, 'model')], /--out .*model: the file name has no extension to tell the checkpoint format/, /^hint: supported extensions: \.safetensors, \.pkl$/m],
    [['convert', join(FIXTURES, 'pytorch/deep.pt'), join(dir, 'out.pth')], /out\.pth: ema-synth does not write \.pth checkpoints/, /^hint: supported extensions: \.safetensors$/m],
    [['sample', TRAIN_SNAPSHOT, '--out', join(dir, 'grid.gif')], /--out .*grid\.gif: ema-synth does not write \.gif images/, /^hint: supported extensions: \.png, \.jpg, \.jpeg$/m],
  ];
  for (const [args, message, hint] of refusals) {
    const result = await runCli(args);
    assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    assertOneErrorLine(result.stderr, message, args[0]);
    assert.match(result.stderr, hint);
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
  const upper = await runCli(['reconstruct', F32_DIR, '--sigma-rel', '0.08', '--out', join(dir, 'MODEL.SafeTensors')]);
  assert.equal(upper.code, 0, upper.stderr);
});

test('sample writes a JPEG for .jpg and a PNG for .png: the same grid, with gaps between tiles', async (t) => {
  const dir = makeTempDir(t);
  const args = ['sample', TRAIN_SNAPSHOT, '--count', '4', '--steps', '2', '--backend', 'cpu'];
  const png = await runCli([...args, '--out', join(dir, 'grid.png')]);
  assert.equal(png.code, 0, png.stderr);
  const jpg = await runCli([...args, '--out', join(dir, 'grid.jpg')]);
  assert.equal(jpg.code, 0, jpg.stderr);
  const pngBytes = readFileSync(join(dir, 'grid.png'));
  const jpgBytes = readFileSync(join(dir, 'grid.jpg'));
  assert.deepEqual([...pngBytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'PNG signature');
  assert.deepEqual([...jpgBytes.subarray(0, 3)], [0xff, 0xd8, 0xff], 'JPEG start-of-image marker');
  const a = pngjs.PNG.sync.read(pngBytes);
  const b = jpeg.decode(jpgBytes, { useTArray: true });
  // Truth: 4 tiles of 8 px scaled 16x (256 px / (2 columns x 8 px)) = 128 px, 16 px gaps: 2 x 128 + 3 x 16 = 304.
  assert.equal(a.width, 304);
  assert.deepEqual([b.width, b.height], [a.width, a.height]);
  let diff = 0;
  for (let i = 0; i < a.data.length; i++) diff = Math.max(diff, Math.abs(a.data[i] - b.data[i]));
  assert.ok(diff < 64, `JPEG close to the PNG (largest difference ${diff})`);
});

test('the image grid puts a white gap between tiles and around them', () => {
  // Two 1x1 black images (data value -1), scale 2, gap 1: width 1 + 2 + 1 + 2 + 1 = 7, height 1 + 2 + 1 = 4.
  const grid = layoutGrid(new Float32Array([-1, -1]), 2, 1, 1, 2, 1);
  assert.deepEqual([grid.width, grid.height], [7, 4]);
  const row = (y: number): string => Array.from({ length: grid.width }, (_, x) => (grid.rgba[(y * grid.width + x) * 4] === 255 ? 'w' : 'k')).join('');
  assert.deepEqual([0, 1, 2, 3].map(row), ['wwwwwww', 'wkkwkkw', 'wkkwkkw', 'wwwwwww']);
});

test('the ema-pytorch sparse-update warning gives no meaningless figures for runs too short to have any', async () => {
  const gammas = [sigmaRelToGamma(0.05), sigmaRelToGamma(0.2)];
  // Truth: with update_every 100, steps 1..6 hold one update (step 1: a copy of the weights).
  const short = describeSparseUpdates([2, 4, 6], gammas, 100).warning!;
  assert.match(short, /a run of 6 steps would have updated its EMAs only once \(at step 1, a copy of the weights\)/);
  assert.doesNotMatch(short, /-> 0\.000|0%/);
  // Truth: steps 1..950 with update_every 100 update at 1, 101, ..., 901: 10 updates, enough for figures.
  assert.match(describeSparseUpdates([950], gammas, 100).warning!, /sigma_rel 0\.050 -> /);
  assert.match(describeSparseUpdates([900], gammas, 100).warning!, /only 9 times/);
  // The README's fixture example states --update-every 1: then no warning at all.
  const example = await runCli(['reconstruct', join(FIXTURES, 'pytorch/ema-pytorch'), '--profiles', '0.05,0.2', '--sigma-rel', '0.1', '--match', 'ema-pytorch', '--update-every', '1', '--dry-run']);
  assert.equal(example.code, 0, example.stderr);
  assert.doesNotMatch(example.stderr, /update_every/);
});

test('train names the snapshot folder without a doubled slash when --out ends in one', async (t) => {
  const dir = makeTempDir(t);
  const result = await runCli(['train', '--data', 'builtin:shapes', '--out', `${join(dir, 'run')}/`, '--batch', '4', '--duration', '4', '--backend', 'cpu']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, new RegExp(`^snapshots +\\d+ files in ${join(dir, 'run', 'snapshots').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
  assert.doesNotMatch(result.stdout, /\/\//);
});

test('the fixture READMEs link only to files inside the repository', () => {
  for (const readme of ['train-run/README.md', 'pytorch/README.md']) {
    const path = join(FIXTURES, readme);
    const text = readFileSync(path, 'utf8');
    for (const [, target] of text.matchAll(/\]\(([^)#\s]+)\)/g)) {
      if (/^https?:/.test(target)) continue;
      assert.ok(existsSync(join(dirname(path), target)), `${readme} links to ${target}, which is not in the repository`);
    }
    // A bare mention of a document (not a link) must name one that exists at the repository's top or in docs/.
    for (const [name] of text.matchAll(/\b[A-Z]+\.md\b/g)) {
      assert.ok(existsSync(join(REPO_DIR, name)) || existsSync(join(REPO_DIR, 'docs', name)), `${readme} mentions ${name}`);
    }
  }
});

test('a --plot into a missing folder is refused before any work; an --out-dir is created', async (t) => {
  const dir = makeTempDir(t);
  const outDir = join(dir, 'new', 'sweep');
  const refused = await runCli(['sweep', F32_DIR, '--sigma-rel', '0.05,0.1', '--eval-cmd', QUADRATIC, '--out-dir', outDir, '--plot', join(dir, 'absent', 'curve.svg')]);
  assert.equal(refused.code, 1);
  assertOneErrorLine(refused.stderr, /absent\/curve\.svg: cannot write into its folder: the folder does not exist/, 'plot');
  assert.equal(existsSync(outDir), false, 'nothing evaluated or written');
  const created = await runCli(['sweep', F32_DIR, '--sigma-rel', '0.05,0.1', '--eval-cmd', QUADRATIC, '--out-dir', outDir, '--plot', join(outDir, 'curve.svg')]);
  assert.equal(created.code, 0, created.stderr);
  assert.ok(existsSync(join(outDir, 'curve.svg')));
});

test('the grid edge counts successful evaluations only, and one step beyond is the spacing to the inner neighbour', () => {
  const target = (sigmaRel: number, status: 'ok' | 'failed', metric: number | null): SweepTarget => ({
    sigma_rel: sigmaRel, gamma: 1, time: 100, fit_error: 0.01, metric, checkpoint: null, status, reason: null, phase: 'grid', poor_fit: false,
  });
  const targets = [target(0.02, 'failed', null), target(0.05, 'ok', 1), target(0.08, 'ok', 2), target(0.11, 'ok', 3)];
  assert.equal(edgeOf(targets[1], targets), 'lower', 'a failed target below does not count as evaluated');
  assert.equal(edgeOf(targets[2], targets), null);
  assert.equal(edgeOf(targets[3], targets), 'upper');
  const asked: number[] = [];
  const fitErrorAt = (sigmaRel: number): number => { asked.push(sigmaRel); return 0.5; };
  // Truth: 0.05 - (0.08 - 0.05) = 0.02; 0.11 + (0.11 - 0.08) = 0.14.
  assert.deepEqual(beyondEdge(targets[1], 'lower', targets, fitErrorAt), { sigma_rel: 0.02, fit_error: 0.5 });
  assert.deepEqual(beyondEdge(targets[3], 'upper', targets, fitErrorAt), { sigma_rel: 0.14, fit_error: 0.5 });
  assert.deepEqual(asked, [0.02, 0.14]);
  // Truth: 0.25 + 0.05 = 0.30 is beyond the widest possible profile (0.2887): nothing to report.
  const wide = [target(0.2, 'ok', 2), target(0.25, 'ok', 1)];
  assert.equal(beyondEdge(wide[1], 'upper', wide, fitErrorAt), null);
});
