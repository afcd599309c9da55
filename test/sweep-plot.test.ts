import { scratchDir } from './helpers/scratch-dir.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { collectSweepReport } from '../src/sweep/report.js';
import { plotFormatOf, renderSweepPng, renderSweepSvg, writeSweepPlot } from '../src/sweep/plot.js';
import { OutputError, UsageError } from '../src/errors.js';
import type { SweepRecord } from '../src/sweep/results-store.js';

const record = (sigmaRel: number, extra: Partial<SweepRecord> = {}): SweepRecord => ({
  sigma_rel: sigmaRel, gamma: 1 / sigmaRel, time: 1000, fit_error: 1e-6 * Math.exp(30 * sigmaRel),
  metric: 2.1 + 40 * (sigmaRel - 0.118) ** 2, checkpoint: null, status: 'ok', reason: null, phase: 'grid', ...extra,
});
const report = collectSweepReport([
  ...[0.05, 0.08, 0.11, 0.14, 0.2].map((s) => record(s)),
  record(0.17, { status: 'failed', metric: null, reason: 'exited with code 1' }),
  record(0.117, { phase: 'refine' }),
]);

/** Lines of text in the SVG: each <text>, or each <tspan> of a multi-line one. */
const texts = (svg: string): string[] =>
  [...svg.matchAll(/<text[^>]*>(.*?)<\/text>/g)].flatMap((m) => m[1].split(/<[^>]+>/).filter((t) => t !== ''));

test('the SVG figure has a title, axis titles, tick labels and one marker per measured target', async () => {
  const svg = await renderSweepSvg(report, { metricName: 'FID' });
  assert.match(svg, /^<svg [^>]*width="\d+" height="\d+"/);
  const labels = texts(svg);
  for (const expected of ['FID against EMA length', 'EMA length σ_rel', 'FID (lower is better)', '0.10', '2.10']) {
    assert.ok(labels.includes(expected), `has text ${expected}`);
  }
  assert.ok(labels.some((t) => t.startsWith('best σ_rel = 0.117 (γ = 8.547), FID = 2.10004')), 'subtitle names the best');
  // 6 measured markers plus the ring around the best one.
  assert.equal(svg.match(/aria-roledescription="point"/g)?.length, 7);
});

test('the best point is ringed in red at the position the x axis gives its sigma_rel', async () => {
  const svg = await renderSweepSvg(report);
  const ring = /<path[^>]*aria-roledescription="point" transform="translate\(([\d.]+),[\d.]+\)"[^>]*stroke="#d62728"/.exec(svg);
  assert.ok(ring, 'a red ring');
  // Truth: the x axis' own first and last tick labels (value, position) fix the linear scale.
  const ticks = [...svg.matchAll(/text-anchor="(?:start|middle|end)" transform="translate\(([\d.]+),16\)"[^>]*>([\d.]+)<\/text>/g)]
    .map((m) => ({ px: Number(m[1]), value: Number(m[2]) }));
  assert.ok(ticks.length >= 3, 'x tick labels found');
  const [first, last] = [ticks[0], ticks[ticks.length - 1]];
  const expected = first.px + ((0.117 - first.value) / (last.value - first.value)) * (last.px - first.px);
  assert.ok(Math.abs(Number(ring[1]) - expected) < 0.5, `ring at ${ring[1]}, axis says ${expected}`);
});

test('failed targets are dashed vertical rules, one each', async () => {
  const svg = await renderSweepSvg(report);
  const rules = svg.match(/<line[^>]*aria-label="EMA length σ_rel: ([\d.]+)"[^>]*stroke-dasharray/g) ?? [];
  assert.equal(rules.length, 1);
  assert.match(rules[0], /σ_rel: 0\.17"/);
  assert.ok(texts(svg).includes('dashed: 1 failed evaluation'));
});

test('without metrics the figure shows fit error on a log axis labelled by decades', async () => {
  const fitOnly = collectSweepReport([0.02, 0.1, 0.2].map((s) => record(s, { metric: null })));
  const labels = texts(await renderSweepSvg(fitOnly));
  assert.ok(labels.includes('fit error in % (log scale)'));
  // Truth: fit errors 1.8e-6 .. 4.0e-4, i.e. 1.8e-4% .. 0.04%, so decades 1e-4 .. 1e-1 (%).
  assert.deepEqual(labels.filter((t) => /^1e-\d$/.test(t)), ['1e-4', '1e-3', '1e-2', '1e-1']);
});

test('PNG output is the SVG rasterised at twice its size, with the red best ring drawn', async () => {
  const svg = await renderSweepSvg(report);
  const [, width, height] = /width="(\d+)" height="(\d+)"/.exec(svg)!.map(Number);
  const png = PNG.sync.read(Buffer.from(await renderSweepPng(report)));
  assert.equal(png.width, 2 * width);
  assert.equal(png.height, 2 * height);
  let red = 0;
  let dark = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
    if (r > 180 && g < 80 && b < 80) red++;
    if (r < 90 && g < 90 && b < 140) dark++;
  }
  assert.ok(red > 100, `red ring pixels: ${red}`);
  assert.ok(dark > 2000, `curve, axes and text pixels: ${dark}`);
});

test('writes the file atomically, refuses to replace one without force, replaces it with force', async () => {
  const dir = scratchDir('ema-plot-');
  const file = join(dir, 'sweep.svg');
  assert.equal(await writeSweepPlot(report, file), 'svg');
  assert.match(readFileSync(file, 'utf8'), /^<svg/);
  assert.deepEqual(readdirSync(dir), ['sweep.svg'], 'no temporary file left behind');
  writeFileSync(file, 'old');
  await assert.rejects(writeSweepPlot(report, file), OutputError);
  assert.equal(readFileSync(file, 'utf8'), 'old');
  await writeSweepPlot(report, file, { force: true });
  assert.match(readFileSync(file, 'utf8'), /^<svg/);
});

test('the format comes from the extension; anything else is a usage error naming --plot', () => {
  assert.equal(plotFormatOf('a/b/sweep.svg'), 'svg');
  assert.equal(plotFormatOf('SWEEP.PNG'), 'png');
  assert.throws(() => plotFormatOf('sweep.jpg'), (error: unknown) => {
    assert.ok(error instanceof UsageError);
    assert.equal(error.message, "--plot sweep.jpg: cannot tell the image format from the extension '.jpg'");
    return true;
  });
  assert.throws(() => plotFormatOf('sweep'), /extension '\(none\)'/);
});

test('importing the plot module does not load the chart libraries', () => {
  // Truth: in a fresh process, importing vega after plot.ts still costs a real module load
  // (hundreds of ms); had plot.ts imported it already, the second import would be a cache hit (<1 ms).
  const script = `
    await import(${JSON.stringify(join(import.meta.dirname, '..', 'src', 'sweep', 'plot.ts'))});
    const t = performance.now();
    await import('vega');
    console.log(performance.now() - t);`;
  const ms = Number(execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..'),
  }).toString());
  assert.ok(ms > 30, `vega loaded only on demand (took ${ms.toFixed(1)} ms after plot.ts)`);
});
