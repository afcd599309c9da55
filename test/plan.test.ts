import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from '../src/phema/schedule-fit.js';
import { writeSafetensorsFile } from '../src/safetensors/writer.js';
import { FIXTURES, makeTempDir, runCli } from './helpers/cli.js';

const TARGETS = '0.04,0.06,...,0.2';

interface Row { every: string; spacing: string; interval: number; snapshots: number; bytes: number | null; new_times: number[]; worst_fit_error: number | null; within_error: boolean; within_budget: boolean; per_time: Array<{ requested: number; time: number; worst: number; median: number }> }
interface PlanJson { tables: Array<{ profiles: number[]; cheapest: number | null; rows: Row[]; recommendation: { flags: string | null } | null; spacing_comparison: { cadences: number; geometric_better: number } | null }> }

async function plan(args: string[]): Promise<PlanJson> {
  const result = await runCli(['plan', ...args, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as PlanJson;
}

/** `inspect --json` at `time`: worst and median fit error over the targets. */
async function inspectAt(dir: string, time: number): Promise<{ worst: number; median: number }> {
  const result = await runCli(['inspect', dir, '--sigma-rel', TARGETS, '--time', String(time), '--json']);
  assert.equal(result.code, 0, result.stderr);
  const errors = (JSON.parse(result.stdout) as { fit: Array<{ fit_error: number }> }).fit.map((f) => f.fit_error);
  return { worst: Math.max(...errors), median: median(errors) };
}

/** A folder of one-value snapshots, both profiles at each time (only the headers matter to inspect). */
async function syntheticFolder(t: { after(fn: () => void): void }, times: readonly number[], profiles = [0.05, 0.1]): Promise<string> {
  const dir = makeTempDir(t);
  for (const time of times) {
    for (const sigma of profiles) {
      await writeSafetensorsFile(join(dir, `s-${time}-${sigma}.safetensors`), [{ name: 'w', dtype: 'F32', shape: [1], data: new Uint8Array(4) }],
        { ema_sigma_rel: String(sigma), ema_time: String(time), ema_time_unit: 'image' });
    }
  }
  return dir;
}

test("plan's figures equal inspect's on the fixture folder, which has exactly that cadence (every 4096 of 65536 images)", async () => {
  const report = await plan(['--duration', '65536', '--every', '4096', '--times', '25%,50%,100%', '--sigma-rel', TARGETS]);
  const row = report.tables[0].rows[0];
  assert.equal(row.snapshots, 32);
  assert.deepEqual(row.new_times, Array.from({ length: 16 }, (_, k) => (k + 1) * 4096));
  for (const at of row.per_time) {
    const truth = await inspectAt(join(FIXTURES, 'snapshots-f16'), at.time);
    assert.equal(at.worst, truth.worst, `worst at ${at.time}`);
    assert.equal(at.median, truth.median, `median at ${at.time}`);
  }
});

test('geometric rows equal inspect on a folder written at their times; the comparison with uniform is reported', async (t) => {
  const report = await plan(['--duration', '1Mi', '--every', '5%,10%', '--spacing', 'geometric', '--times', '50%,100%', '--sigma-rel', TARGETS]);
  const table = report.tables[0];
  assert.deepEqual(table.rows.map((r) => [r.every, r.spacing]), [['5%', 'uniform'], ['5%', 'geometric'], ['10%', 'uniform'], ['10%', 'geometric']]);
  assert.equal(table.rows[0].snapshots, table.rows[1].snapshots, 'same disk');
  assert.equal(table.spacing_comparison?.cadences, 2);
  const geometric = table.rows[1];
  const gaps = geometric.new_times.map((time, i) => time - (geometric.new_times[i - 1] ?? 0));
  assert.ok(gaps[gaps.length - 1] < gaps[0] / 3, 'denser late');
  const dir = await syntheticFolder(t, geometric.new_times);
  for (const at of geometric.per_time) assert.deepEqual({ worst: at.worst, median: at.median }, await inspectAt(dir, at.time));
});

test('plan --from continues a folder: figures equal inspect on the folder plus the planned snapshots', async (t) => {
  const report = await plan(['--from', join(FIXTURES, 'snapshots-f16'), '--duration', '131072', '--every', '4096', '--times', '50%,100%', '--sigma-rel', TARGETS]);
  const row = report.tables[0].rows[0];
  assert.deepEqual(report.tables[0].profiles, [0.05, 0.1]);
  assert.equal(row.snapshots, 64);
  assert.equal(row.new_times[0], 65536 + 4096);
  const whole = await syntheticFolder(t, Array.from({ length: 32 }, (_, k) => (k + 1) * 4096));
  for (const at of row.per_time) assert.deepEqual({ worst: at.worst, median: at.median }, await inspectAt(whole, at.time));
});

test('the marked cadence is the cheapest within the fit-error bound and budget, and is printed as flags', async () => {
  const args = ['--duration', '2Gi', '--sigma-rel', '0.05,0.06,...,0.15', '--snapshot-size', '3.1GB', '--budget', '1TB', '--max-fit-error', '2%'];
  const report = await plan(args);
  const { rows, cheapest } = report.tables[0];
  assert.notEqual(cheapest, null);
  const chosen = rows[cheapest!];
  assert.ok(chosen.within_error && chosen.worst_fit_error! <= 0.02 && chosen.bytes! <= 1e12);
  for (const row of rows) if (row.within_error && row.within_budget) assert.ok(row.snapshots >= chosen.snapshots, `${row.every} is cheaper`);
  assert.ok(rows.some((row) => row.snapshots < chosen.snapshots && !row.within_error), 'a cheaper cadence exists but breaks the bound');
  const text = await runCli(['plan', ...args]);
  assert.match(text.stdout, new RegExp(`ema-synth train --snapshot-every ${chosen.interval} --ema-sigma-rel 0.05,0.1`));
  assert.match(text.stdout, new RegExp(`snapshot_every = ${chosen.interval}`));
  assert.match(text.stdout, /<- cheapest/);
});

test('plan --compare-profiles gives one table per tracked set; an impossible bound is said plainly', async () => {
  const report = await plan(['--duration', '1M', '--compare-profiles', '0.03,0.15;0.05,0.1,0.15', '--every', '2%,5%']);
  assert.deepEqual(report.tables.map((table) => table.profiles), [[0.05, 0.1], [0.03, 0.15], [0.05, 0.1, 0.15]]);
  const impossible = await runCli(['plan', '--duration', '1M', '--every', '10%', '--max-fit-error', '0.01%']);
  assert.equal(impossible.code, 0);
  assert.match(impossible.stdout, /no cadence keeps every target within 0\.01% fit error: the smallest worst error is/);
});

test('plan refuses bad values with one error line naming the flag', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['plan'], /required option '--duration/],
    [['plan', '--duration', 'two'], /--duration "two": expected a positive number/],
    [['plan', '--duration', '1M', '--budget', '1TB'], /--budget needs --snapshot-size/],
    [['plan', '--duration', '1M', '--max-fit-error', '150%'], /--max-fit-error "150%"/],
    [['plan', '--duration', '1M', '--times', '120%'], /--times "120%": expected a fraction .* at most 100%/],
    [['plan', '--duration', '1M', '--times', '2M'], /--times: 2000000 is after the end of the run/],
    [['plan', '--duration', '1M', '--profiles', '0.05,0.05'], /listed twice/],
    [['plan', '--duration', '1000', '--from', join(FIXTURES, 'snapshots-f16')], /already at time 65536/],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(args);
    assert.notEqual(result.code, 0, args.join(' '));
    assert.match(result.stderr, message, args.join(' '));
  }
});

test('plan --plot draws worst fit error against snapshot count, and will not replace a file without --force', async (t) => {
  const file = join(makeTempDir(t), 'plan.svg');
  const args = ['plan', '--duration', '1M', '--every', '1%,2%,5%', '--sigma-rel', TARGETS, '--plot', file];
  const first = await runCli(args);
  assert.equal(first.code, 0, first.stderr);
  const svg = readFileSync(file, 'utf8');
  assert.match(svg, /^<svg/);
  assert.match(svg, /Snapshot cadence for a run of 1,000,000 images/);
  assert.match(svg, /σ_rel 0\.05, 0\.1/);
  const again = await runCli(args);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
  assert.equal((await runCli([...args, '--force'])).code, 0);
  assert.equal((await runCli(['plan', '--duration', '1M', '--plot', 'x.pdf'])).code, 2);
});
