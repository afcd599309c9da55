import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, makeTempDir, REPO_DIR, runCli } from './helpers/cli.js';

/**
 * Sweeps at the scale of real runs (issue 18), through the CLI on the fixture snapshots: the disk
 * bound, length x time grids, repeats, pruning, old results files, and a cluster stand-in.
 */

const F16_DIR = join(FIXTURES, 'snapshots-f16');
const METRIC = `node ${join(FIXTURES, 'eval/grid-metric.mjs')}`;
const SRUN = join(FIXTURES, 'eval/fake-srun.sh');
/** The optimum of grid-metric.mjs at time t: its fid is 1e4 * (sigma_rel - best(t))^2 (+ seed noise). */
const bestAt = (time: number): number => 0.04 + (0.06 * time) / 65536;

interface Target { sigma_rel: number; time: number; metric: number | null; metric_se?: number | null; repeats?: number; status: string; checkpoint: string | null; metrics?: Record<string, number> }
const lines = (file: string): Record<string, unknown>[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

/**
 * Counts checkpoint files on disk every 2 ms while `work` runs; returns the most seen. Files, not
 * names: a finished file is hard-linked to its final name before its temporary name goes, and
 * for that moment one file has two names (it takes the disk space once).
 */
async function watchCheckpoints(dir: string, work: () => Promise<unknown>): Promise<number> {
  let most = 0;
  const look = (): void => {
    if (!existsSync(dir)) return;
    const inodes = new Set<number>();
    for (const name of readdirSync(dir).filter((n) => n.includes('.safetensors'))) {
      try {
        inodes.add(statSync(join(dir, name)).ino);
      } catch {
        // removed between the listing and the stat
      }
    }
    most = Math.max(most, inodes.size);
  };
  const timer = setInterval(look, 2);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  look();
  return most;
}

test('--max-checkpoints 4 over 32 targets: 8 passes, never more than 5 checkpoints on disk, the best kept', async (t) => {
  const dir = makeTempDir(t);
  const out = join(dir, 'out');
  const grid = '0.020,0.025,...,0.175'; // 32 lengths
  const command = `${METRIC} --net={file} --sigma={sigma_rel} --time={time} --files-in=${out}`;
  let result;
  const most = await watchCheckpoints(out, async () => {
    result = await runCli(['sweep', F16_DIR, '--sigma-rel', grid, '--eval-cmd', command, '--metric', 'fid', '--out-dir', out, '--max-checkpoints', '4', '--jobs', '4', '--refine', '3', '--json']);
  });
  assert.equal(result!.code, 0, result!.stderr);
  const report = JSON.parse(result!.stdout);
  assert.equal(report.targets.length, 35);
  const gridPasses = report.passes.filter((p: { phase: string }) => p.phase === 'grid');
  assert.equal(gridPasses.length, 8);
  assert.ok(gridPasses.every((p: { targets: number }) => p.targets === 4));
  assert.equal(report.passes.length, 11, 'one more pass per refinement step');
  assert.ok(most <= 5, `the watcher saw ${most} checkpoints at once`);
  // A second observer: what each evaluation saw on disk while it ran (recorded as a named metric).
  const seen = lines(join(out, 'sweep.jsonl')).map((r) => (r.metrics as Record<string, number>).checkpoints_on_disk);
  assert.equal(seen.length, 35);
  assert.ok(Math.max(...seen) <= 5, `an evaluation saw ${Math.max(...seen)} checkpoints`);
  assert.ok(Math.max(...seen) >= 4, 'the groups really hold 4 checkpoints');
  // The optimum 0.1 is a grid point: refinement lands beside it, and the best (alone left on disk) stays.
  assert.equal(report.best.sigma_rel, 0.1);
  assert.deepEqual(readdirSync(out).filter((n) => n.endsWith('.safetensors')), ['ema-sigma0.1-time65536.safetensors']);

  // The watcher can see a violation: without the bound all 32 are on disk together.
  const unbounded = join(dir, 'unbounded');
  const all = await watchCheckpoints(unbounded, () => runCli(['sweep', F16_DIR, '--sigma-rel', '0.020,0.025,...,0.175', '--eval-cmd', command.replace(out, unbounded), '--out-dir', unbounded, '--json']));
  assert.equal(all, 32);
});

/** A copy of a snapshot folder without its integer tensors (every tensor left is blended). */
function floatsOnly(from: string, to: string): void {
  mkdirSync(to);
  for (const name of readdirSync(from)) {
    const bytes = readFileSync(join(from, name));
    const size = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + size).toString('utf8'));
    const data = bytes.subarray(8 + size);
    const kept: Record<string, unknown> = { __metadata__: header.__metadata__ };
    const parts: Buffer[] = [];
    let offset = 0;
    for (const [tensor, info] of Object.entries(header) as Array<[string, { dtype: string; shape: number[]; data_offsets: [number, number] }]>) {
      if (tensor === '__metadata__' || info.dtype.startsWith('I') || info.dtype.startsWith('U')) continue;
      const part = data.subarray(info.data_offsets[0], info.data_offsets[1]);
      kept[tensor] = { dtype: info.dtype, shape: info.shape, data_offsets: [offset, offset + part.length] };
      parts.push(part);
      offset += part.length;
    }
    let json = JSON.stringify(kept);
    json += ' '.repeat((8 - (json.length % 8)) % 8);
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(join(to, name), Buffer.concat([length, Buffer.from(json), ...parts]));
  }
}

test('a length x time grid solves each time with its own snapshots: checkpoints equal reconstruct --time', async (t) => {
  const dir = makeTempDir(t);
  const floats = join(dir, 'floats');
  floatsOnly(F16_DIR, floats);
  // Integer tensors are copied from the last snapshot a pass reads, so with them each time needs its
  // own pass; with float tensors only, one pass serves every time.
  for (const [snapshots, passes] of [[F16_DIR, 3], [floats, 1]] as const) {
    const out = join(dir, `out-${passes}`);
    const swept = await runCli(['sweep', snapshots, '--sigma-rel', '0.05,0.12', '--time', '25%,50%,100%', '--keep', 'all', '--out-dir', out, '--json']);
    assert.equal(swept.code, 0, swept.stderr);
    const report = JSON.parse(swept.stdout);
    assert.deepEqual(report.times, [16384, 32768, 65536]);
    assert.equal(report.passes.length, passes);
    assert.equal(report.targets.length, 6);
    for (const target of report.targets as Target[]) {
      const alone = join(dir, 'alone.safetensors');
      const single = await runCli(['reconstruct', snapshots, '--sigma-rel', String(target.sigma_rel), '--time', String(target.time), '--out', alone, '--force']);
      assert.equal(single.code, 0, single.stderr);
      assert.ok(readFileSync(target.checkpoint!).equals(readFileSync(alone)), `${snapshots}: sigma_rel ${target.sigma_rel} at ${target.time}`);
    }
  }
});

test('--repeat: {seed} runs, mean and standard error; --prune-margin stops hopeless targets after two repeats', async (t) => {
  const dir = makeTempDir(t);
  const log = join(dir, 'runs.log');
  const noise = 0.3;
  const command = `echo {sigma_rel} {seed} >> ${log}; ${METRIC} --net={file} --sigma={sigma_rel} --time={time} --seed={seed} --noise=${noise}`;
  const result = await runCli(['sweep', F16_DIR, '--sigma-rel', '0.04,0.06,...,0.18', '--eval-cmd', command, '--metric', 'fid', '--out-dir', dir,
    '--repeat', '4', '--prune-margin', '3', '--jobs', '4', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  const best = report.targets.find((x: Target) => x.sigma_rel === 0.1);
  // Seeds 0..3 add noise * (-1, 0, 1, 2): mean noise / 2, standard error noise * sqrt(5/12) (sample sd / 2).
  const truth = 1e4 * (0.1 - bestAt(65536)) ** 2;
  assert.ok(Math.abs(best.metric - (truth + noise / 2)) < 1e-9, `mean ${best.metric}`);
  assert.ok(Math.abs(best.metric_se - noise * Math.sqrt(5 / 12)) < 1e-9, `standard error ${best.metric_se}`);
  assert.equal(best.repeats, 4);
  assert.equal(report.best.sigma_rel, 0.1);
  // Far targets are hundreds of standard errors worse after two repeats: no more runs for them.
  const far = report.targets.find((x: Target) => x.sigma_rel === 0.18);
  assert.equal(far.repeats, 2);
  const runs = readFileSync(log, 'utf8').trim().split('\n');
  assert.ok(runs.includes('0.1 3') && !runs.includes('0.18 2'), 'seeds substituted, pruned targets not repeated');
  assert.ok(runs.length < 8 * 4);
  // Runner-up 0.12 is 4 fid away, far beyond two standard errors of the difference.
  assert.equal(report.best_distinguishable, true);
  assert.ok([0.08, 0.12].includes(report.runner_up.sigma_rel), `runner-up ${report.runner_up.sigma_rel}`); // equally far: either
  // The table says so, with the ± column.
  const table = await runCli(['sweep', F16_DIR, '--sigma-rel', '0.04,0.06,...,0.18', '--eval-cmd', command, '--metric', 'fid', '--out-dir', dir, '--repeat', '4', '--prune-margin', '3']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /± 0\.19 \(n=4\)/);
  assert.match(table.stdout, /the best is distinguishable from the runner-up/);
  assert.match(table.stdout, /targets? stopped early/);
  assert.equal(readFileSync(log, 'utf8').trim().split('\n').length, runs.length, 'a finished sweep reruns nothing');
});

test('a sweep.jsonl written before repeats existed resumes as it is, and --repeat adds only the missing seeds', async (t) => {
  const dir = makeTempDir(t);
  const log = join(dir, 'runs.log');
  // Lines exactly as earlier versions wrote them: no seed, no metrics.
  const old = [0.06, 0.1, 0.14].map((s) => ({
    sigma_rel: s, gamma: 1, time: 65536, fit_error: 0.01, checkpoint: join(dir, `ema-sigma${s}-time65536.safetensors`),
    metric: 1e4 * (s - bestAt(65536)) ** 2, status: 'ok', reason: null, phase: 'grid',
  }));
  writeFileSync(join(dir, 'sweep.jsonl'), old.map((l) => `${JSON.stringify(l)}\n`).join(''));
  const command = `echo {sigma_rel} {seed} >> ${log}; ${METRIC} --net={file} --sigma={sigma_rel} --time={time} --seed={seed}`;
  const resumed = await runCli(['sweep', F16_DIR, '--sigma-rel', '0.06,0.1,0.14', '--eval-cmd', command, '--out-dir', dir, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.equal(existsSync(log), false, 'nothing evaluated again');
  const report = JSON.parse(resumed.stdout);
  assert.deepEqual(report.targets.map((x: Target) => x.metric), old.map((l) => l.metric));
  assert.equal(report.best.sigma_rel, 0.1);
  const repeated = await runCli(['sweep', F16_DIR, '--sigma-rel', '0.06,0.1,0.14', '--eval-cmd', command, '--out-dir', dir, '--repeat', '2', '--json']);
  assert.equal(repeated.code, 0, repeated.stderr);
  assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n').sort(), ['0.06 1', '0.1 1', '0.14 1']);
  assert.ok(JSON.parse(repeated.stdout).targets.every((x: Target) => x.repeats === 2));
});

test('--refine over a time grid: each time refines around its own best; a finished rerun adds nothing', async (t) => {
  const dir = makeTempDir(t);
  const args = ['sweep', F16_DIR, '--sigma-rel', '0.03,0.06,...,0.15', '--time', '50%,100%', '--eval-cmd', `${METRIC} --net={file} --sigma={sigma_rel} --time={time}`,
    '--metric', 'fid', '--out-dir', dir, '--refine', '4', '--jobs', '2', '--json'];
  const first = await runCli(args);
  assert.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout);
  for (const time of [32768, 65536]) {
    const best = (report.best_per_time as Target[]).find((b) => b.time === time)!;
    // Refinement gets closer to the optimum than the grid spacing of 0.03 allows (0.01 and 0 away from a grid point).
    assert.ok(Math.abs(best.sigma_rel - bestAt(time)) < 0.003, `time ${time}: best ${best.sigma_rel}, optimum ${bestAt(time)}`);
    assert.ok((report.targets as Array<Target & { phase: string }>).filter((x) => x.time === time && x.phase === 'refine').length <= 4);
  }
  const again = await runCli(args);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(lines(join(dir, 'sweep.jsonl')).length, report.targets.length, 'the rerun evaluated nothing');
});

test('sweep scale flags are checked before any work', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['--max-checkpoints', '4', '--keep', 'all', '--eval-cmd', 'x {file}', '--out-dir', '/tmp/x'], /--max-checkpoints and --keep all/],
    [['--max-checkpoints', '4'], /--max-checkpoints needs an evaluation/],
    [['--max-checkpoints', '0', '--eval-cmd', 'x', '--out-dir', '/tmp/x'], /--max-checkpoints "0" must be a positive whole number/],
    [['--repeat', '3', '--eval', 'builtin', '--out-dir', '/tmp/x'], /--repeat needs --eval-cmd/],
    [['--repeat', '2', '--prune-margin', '2', '--eval-cmd', 'x', '--out-dir', '/tmp/x'], /--prune-margin needs --repeat 3/],
    [['--repeat', '4', '--prune-margin', 'no', '--eval-cmd', 'x', '--out-dir', '/tmp/x'], /--prune-margin "no" must be a positive number/],
    [['--metric', 'f id', '--eval-cmd', 'x', '--out-dir', '/tmp/x'], /is not a metric name/],
    [['--retries', '-1', '--eval-cmd', 'x', '--out-dir', '/tmp/x'], /--retries "-1" must be a whole number/],
    [['--time', '20%,40', '--eval-cmd', 'x', '--out-dir', '/tmp/x'], /mixes percentages and times/],
  ];
  for (const [flags, message] of cases) {
    const result = await runCli(['sweep', F16_DIR, '--sigma-rel', '0.1', ...flags]);
    assert.equal(result.code, 2, `${flags.join(' ')}: ${result.stderr}`);
    assert.match(result.stderr, message);
  }
});

/** Most `start` lines not yet matched by an `end` line in a fake-srun log: the jobs running at once. */
function mostAtOnce(log: string): number {
  const events = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.split(' ')).map(([kind, at]) => ({ kind, at: Number(at) }));
  events.sort((a, b) => a.at - b.at || (a.kind === 'end' ? -1 : 1));
  let running = 0;
  let most = 0;
  for (const e of events) most = Math.max(most, (running += e.kind === 'start' ? 1 : -1));
  return most;
}

test('on a cluster stand-in: a 10 x 8 grid through srun with --jobs 8, retries, quoting, bounded disk, SIGKILL and resume, plot', async (t) => {
  const dir = makeTempDir(t);
  const out = join(dir, "out dir 'quoted'"); // a path srun must pass on as one word
  const state = join(dir, 'srun-state');
  mkdirSync(state);
  const env = { ...process.env, FAKE_SRUN_STATE: state, FAKE_SRUN_LOG: join(dir, 'srun.log'), FAKE_SRUN_DELAY: '0.3' };
  const command = `${SRUN} --gres=gpu:1 --time=2:00:00 ${METRIC} --net={file} --sigma={sigma_rel} --time={time} --seed={seed}`;
  const args = ['sweep', F16_DIR, '--sigma-rel', '0.03,0.04,...,0.12', '--time', '12.5%,25%,...,100%', '--eval-cmd', command,
    '--metric', 'fid', '--jobs', '8', '--retries', '2', '--max-checkpoints', '16', '--out-dir', out, '--plot', join(dir, 'grid.png')];

  const child = spawn(process.execPath, [join(REPO_DIR, 'bin/ema-synth.js'), ...args], { stdio: 'ignore', env });
  let exited = false;
  child.once('exit', () => { exited = true; });
  const results = join(out, 'sweep.jsonl');
  const deadline = Date.now() + 120_000;
  while (!exited && !(existsSync(results) && readFileSync(results, 'utf8').split('\n').length > 24) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(!exited, 'the sweep ended before it could be killed');
  assert.equal(JSON.parse(readFileSync(join(out, 'sweep.lock'), 'utf8')).pid, child.pid);
  const closed = new Promise((r) => child.once('close', r));
  child.kill('SIGKILL');
  await closed;
  const firstRun = lines(results).length;
  assert.ok(mostAtOnce(env.FAKE_SRUN_LOG) === 8, `${mostAtOnce(env.FAKE_SRUN_LOG)} jobs at once in the first run`);

  // The evaluation commands inherit this process's environment.
  const saved = { ...process.env };
  // A log of its own: the killed run's jobs are orphans that may still be running (as cluster jobs would be).
  Object.assign(process.env, env, { FAKE_SRUN_LOG: join(dir, 'srun-resumed.log') });
  const resumed = await runCli([...args, '--json']).finally(() => {
    for (const key of ['FAKE_SRUN_STATE', 'FAKE_SRUN_LOG', 'FAKE_SRUN_DELAY']) if (saved[key] === undefined) delete process.env[key];
  });
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`took over the lock of process ${child.pid}, which is no longer running`));
  assert.equal(existsSync(join(out, 'sweep.lock')), false, 'the lock is released at the end');
  const report = JSON.parse(resumed.stdout);
  assert.equal(report.targets.length, 80);
  assert.ok(report.targets.every((x: Target) => x.status === 'ok'), 'every preempted job succeeded on a retry');
  // Every cell was evaluated to completion exactly once over the two runs (the killed run's finished cells were not redone).
  const all = lines(results);
  assert.ok(all.length === 80 && firstRun < 80, `${all.length} lines, ${firstRun} from the first run`);
  assert.equal(new Set(all.map((r) => `${r.sigma_rel}@${r.time}`)).size, 80);
  const preempted = readdirSync(state).length;
  const retried = all.filter((r) => r.attempts === 2).length;
  assert.ok(preempted >= 10 && retried >= 1 && retried <= preempted, `${preempted} preempted, ${retried} retried lines`);
  const resumedAtOnce = mostAtOnce(join(dir, 'srun-resumed.log'));
  assert.ok(resumedAtOnce <= 8 && resumedAtOnce >= 2, `${resumedAtOnce} jobs at once in the resumed run`);
  // The grid: at each time the best length is the grid point nearest the drifting optimum.
  for (const b of report.best_per_time as Target[]) {
    const nearest = Math.round(bestAt(b.time) * 100) / 100;
    assert.ok(Math.abs(b.sigma_rel - bestAt(b.time)) <= Math.abs(nearest - bestAt(b.time)) + 1e-12, `time ${b.time}: best ${b.sigma_rel}`);
  }
  assert.equal(report.best_per_time.length, 8);
  assert.ok(readFileSync(join(dir, 'grid.png')).subarray(1, 4).toString() === 'PNG');
  // --keep best: the killed run's leftovers and every other checkpoint are gone, the best alone is left.
  assert.deepEqual(readdirSync(out).filter((n) => n.includes('.safetensors')), [`ema-sigma${report.best.sigma_rel}-time${report.best.time}.safetensors`]);
});
