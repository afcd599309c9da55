/**
 * `npm run bench [-- --quick] [-- --json | --markdown] [-- --repeats N] [-- --large] [-- --only CASE,...] [-- --threads 1,N,...]`:
 * reconstruct and sweep throughput against raw I/O (issue 6) for 1 and N blending threads (issue
 * 17; N: one per core, at most 16), EDM2 pickle folders (peak RSS;
 * issue 13), on synthetic snapshot folders generated in a temporary folder that is removed at the
 * end, on error and on Ctrl-C. Measure on an idle machine.
 * `npm run bench -- --train [-- --repeats N] [-- --threads N]`: training-step time per backend
 * against PyTorch (issue 14, see trainOnly below).
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, statfsSync } from 'node:fs';
import { cpus, freemem, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultThreads } from '../../src/blend/thread-count.js';
import { catMs, ddWriteMs, spawnTimed, syncAndDropCaches } from './baseline.js';
import { boundedSweepRow } from './bounded-sweep.js';
import { median, renderMarkdown, renderTable, type BlendRow, type OtherRow } from './report.js';
import { pickleRows } from './pickle-case.js';
import { writeSyntheticFolder, type SyntheticCase } from './synthetic-snapshots.js';
import { verifyOutputs, type VerifyResult } from './verify-output.js';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const json = argv.includes('--json');
const large = argv.includes('--large');
const markdown = argv.includes('--markdown');
const repeatsArg = argv.indexOf('--repeats');
const repeats = repeatsArg >= 0 ? Number(argv[repeatsArg + 1]) : quick ? 1 : 3;
/** `--only f32-16x64MB,...`: just these cases, and none of the other rows (solve, inspect, train); `--only target-kinds` or `--only plan-prune`: just issue 15's or issue 16's rows. */
const onlyArg = argv.indexOf('--only');
const only = onlyArg >= 0 ? new Set(argv[onlyArg + 1].split(',')) : undefined;
/** `--threads 1,4,16`: the thread counts timed for each case and K (default: 1 and the default N). */
const threadsArg = argv.indexOf('--threads');
const THREADS = [...new Set(threadsArg >= 0 ? argv[threadsArg + 1].split(',').map(Number) : [1, defaultThreads()])];
if (THREADS.some((t) => !Number.isSafeInteger(t) || t < 1)) throw new Error(`--threads ${argv[threadsArg + 1]}: positive whole numbers, comma-separated`);
/** The most threads asked for: the sweep and cold rows use it. */
const MOST_THREADS = Math.max(...THREADS);
/** The children size libuv's pool as bin/ema-synth.js does, before anything loads. */
const THREAD_POOL = fileURLToPath(new URL('../../bin/thread-pool.js', import.meta.url));
const log = (line: string): void => { (json ? process.stderr : process.stdout).write(`${line}\n`); };

/** `sweep`: also time `ema-synth sweep --keep all` (same engine, issue 3's K = 32 vs K = 1 figure). */
interface BenchCase extends SyntheticCase { readonly targets: readonly number[]; readonly sweep?: boolean }
const MB = 2 ** 20;
const CASES: BenchCase[] = quick
  ? [{ name: 'f32-12x4MB', snapshots: 12, bytesPerSnapshot: 4 * MB, dtype: 'F32', targets: [1, 8], sweep: true }]
  : [
    { name: 'f32-16x64MB', snapshots: 16, bytesPerSnapshot: 64 * MB, dtype: 'F32', targets: [1, 8, 32], sweep: true },
    { name: 'f16-16x64MB', snapshots: 16, bytesPerSnapshot: 64 * MB, dtype: 'F16', targets: [1, 8, 32] },
    { name: 'f32-256x4MB', snapshots: 256, bytesPerSnapshot: 4 * MB, dtype: 'F32', targets: [1, 8, 32] },
    ...(large ? [{ name: 'f32-16x256MB', snapshots: 16, bytesPerSnapshot: 256 * MB, dtype: 'F32' as const, targets: [1] }] : []),
  ];
const MANY = quick ? 200 : 2000;
const CHILD_TIMEOUT_MS = quick ? 60_000 : 180_000;

const root = mkdtempSync(join(tmpdir(), 'ema-synth-bench-'));
const cleanup = (): void => rmSync(root, { recursive: true, force: true });
process.on('exit', cleanup);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) process.on(signal, () => { cleanup(); process.exit(code); });

function sigmaList(k: number): string {
  // Distinct at 3 decimals (output names show sigma_rel that way).
  // K = 1 asks for a length between the two tracked ones (0.05 would be one snapshot copied).
  if (k === 1) return '0.080';
  return Array.from({ length: k }, (_, j) => (0.05 + j * (k > 8 ? 0.003 : 0.01)).toFixed(3)).join(',');
}

async function child(args: string[], timeoutMs = CHILD_TIMEOUT_MS): Promise<{ code: number; ms: number; cpuMs: number; maxRssBytes: number; stdout: string; stderr: string } | undefined> {
  const result = await spawnTimed(process.execPath, ['--require', THREAD_POOL, '--import', 'tsx', join(BENCH_DIR, 'run-child.ts'), ...args], 'pipe', timeoutMs);
  if (result.timedOut) return undefined;
  const parsed = JSON.parse(result.out.trim().split('\n').pop()!);
  if (parsed.code !== 0) throw new Error(`ema-synth ${args.join(' ')} failed: ${parsed.stderr}`);
  return parsed;
}

async function reconstructOnce(dir: string, k: number, threads: number, verify: boolean): Promise<{ ms: number; cpuMs: number; rss: number; verified?: VerifyResult }> {
  const out = join(root, 'out');
  mkdirSync(out);
  try {
    const run = await child(['reconstruct', dir, '--sigma-rel', sigmaList(k), '--out-dir', out, '--threads', String(threads), '--json'], 900_000);
    if (run === undefined) throw new Error(`reconstruct K=${k} timed out`);
    const verified = verify ? verifyOutputs(JSON.parse(run.stdout).targets) : undefined;
    if (verified && !verified.ok) throw new Error(`output check failed for K=${k}: worst error ${verified.worstErrorOverTolerance} x tolerance`);
    return { ms: run.ms, cpuMs: run.cpuMs, rss: run.maxRssBytes, verified };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function sweepOnce(dir: string, k: number): Promise<{ ms: number; cpuMs: number; rss: number }> {
  const out = join(root, 'sweep-out');
  try {
    const run = await child(['sweep', dir, '--sigma-rel', sigmaList(k), '--out-dir', out, '--keep', 'all', '--threads', String(MOST_THREADS), '--json'], 900_000);
    if (run === undefined) throw new Error(`sweep K=${k} timed out`);
    return { ms: run.ms, cpuMs: run.cpuMs, rss: run.maxRssBytes };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function benchCase(c: BenchCase, rows: BlendRow[], checks: string[], coldNote: { text?: string }, other: OtherRow[]): Promise<void> {
  const dir = join(root, c.name);
  mkdirSync(dir);
  const generated = Date.now();
  const paths = await writeSyntheticFolder(dir, c);
  const fileBytes = statSync(paths[0]).size;
  const inputBytes = fileBytes * paths.length;
  log(`${c.name}: generated ${(inputBytes / 1e9).toFixed(2)} GB in ${((Date.now() - generated) / 1000).toFixed(1)} s`);
  await catMs(paths); // warm the page cache
  const readMs = median(await seq(repeats, () => catMs(paths)));
  const nodeReadMs = median(await seq(repeats, () => nodeReadOnceMs(paths)));
  for (const k of c.targets) {
    const count = k >= 32 ? Math.min(repeats, 2) : repeats;
    const writeMs = median(await seq(count, () => ddWriteMs(root, k, fileBytes)));
    // The thread counts alternate run by run, so a change in the machine's load hits them alike.
    const runs = new Map<number, Awaited<ReturnType<typeof reconstructOnce>>[]>(THREADS.map((t) => [t, []]));
    for (let r = 0; r < count; r++) for (const t of THREADS) runs.get(t)!.push(await reconstructOnce(dir, k, t, r === 0));
    let row: BlendRow | undefined;
    for (const [threads, timed] of runs) {
      const verified = timed[0].verified!;
      checks.push(`${c.name} K=${k} ${threads} thread(s): ${verified.samples} sampled outputs match the float64 sum (worst ${verified.worstErrorOverTolerance.toFixed(3)} x tolerance)`);
      row = {
        case: c.name, cache: 'warm', targets: k, threads, snapshots: c.snapshots, inputBytes, outputBytes: k * fileBytes, repeats: timed.length,
        wallMs: median(timed.map((r) => r.ms)), cpuMs: median(timed.map((r) => r.cpuMs)), readMs, nodeReadMs, writeMs, peakRssBytes: Math.max(...timed.map((r) => r.rss)),
      };
      rows.push(row);
      log(`  K=${k}, ${threads} thread(s): ${(row.wallMs / 1000).toFixed(2)} s (read ${(readMs / 1000).toFixed(2)} s + write ${(writeMs / 1000).toFixed(2)} s), CPU ${(row.cpuMs / 1000).toFixed(2)} s, RSS ${Math.round(row.peakRssBytes / MB)} MB`);
    }
    if (c.sweep && row !== undefined) {
      const sweeps = await seq(k >= 32 ? 1 : Math.min(repeats, 2), () => sweepOnce(dir, k));
      rows.push({ ...row, case: `${c.name} sweep`, threads: MOST_THREADS, repeats: sweeps.length, wallMs: median(sweeps.map((r) => r.ms)), cpuMs: median(sweeps.map((r) => r.cpuMs)), peakRssBytes: Math.max(...sweeps.map((r) => r.rss)) });
      log(`  sweep K=${k} --keep all, ${MOST_THREADS} thread(s): ${(rows[rows.length - 1].wallMs / 1000).toFixed(2)} s`);
      if (k === Math.max(...c.targets)) {
        const bounded = await boundedSweepRow({ dir, work: root, caseName: c.name, k, sigmaList: sigmaList(k), readMs, writeMs, runChild: (args) => child(args, 900_000) });
        other.push(bounded);
        log(`  ${bounded.name}: ${bounded.ms === null ? '-' : `${(bounded.ms / 1000).toFixed(2)} s`}, ${bounded.note}`);
      }
    }
  }
  if (!quick && coldNote.text === undefined) {
    const failure = await syncAndDropCaches();
    if (failure !== undefined) coldNote.text = failure;
    else {
      const coldRead = await catMs(paths);
      await syncAndDropCaches();
      const coldNodeRead = await nodeReadOnceMs(paths);
      const writeMs = await ddWriteMs(root, 1, fileBytes);
      await syncAndDropCaches();
      const run = await reconstructOnce(dir, 1, MOST_THREADS, false);
      rows.push({ case: c.name, cache: 'cold', targets: 1, threads: MOST_THREADS, snapshots: c.snapshots, inputBytes, outputBytes: fileBytes, repeats: 1,
        wallMs: run.ms, cpuMs: run.cpuMs, readMs: coldRead, nodeReadMs: coldNodeRead, writeMs, peakRssBytes: run.rss });
      log(`  K=1 cold: ${(run.ms / 1000).toFixed(2)} s (cold cat ${(coldRead / 1000).toFixed(2)} s)`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

async function nodeReadOnceMs(paths: readonly string[]): Promise<number> {
  const { out } = await spawnTimed(process.execPath, ['--import', 'tsx', join(BENCH_DIR, 'node-read-child.ts'), ...paths], 'pipe', CHILD_TIMEOUT_MS);
  return (JSON.parse(out) as { ms: number }).ms;
}

async function seq<T>(count: number, work: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < count; i++) results.push(await work(i));
  return results;
}

/** The CLI's start-up, which the blend rows leave out: whole processes, medians of 5. */
async function startupRows(): Promise<OtherRow[]> {
  const bin = fileURLToPath(new URL('../../bin/ema-synth.js', import.meta.url));
  const cli = median(await seq(5, async () => (await spawnTimed(process.execPath, [bin, '--version'])).ms));
  const bare = median(await seq(5, async () => (await spawnTimed(process.execPath, ['-e', '0'])).ms));
  return [{ name: 'CLI start-up (`ema-synth --version`, whole process)', ms: cli, note: `of which Node itself (\`node -e 0\`) ${Math.round(bare)} ms; median of 5` }];
}

async function others(): Promise<OtherRow[]> {
  const rows: OtherRow[] = [...await startupRows()];
  const solve = await spawnTimed(process.execPath, ['--import', 'tsx', join(BENCH_DIR, 'solve-child.ts'), String(MANY)], 'pipe', CHILD_TIMEOUT_MS);
  rows.push(solve.timedOut
    ? { name: `solve N=${MANY} (two profiles)`, ms: null, note: `did not finish within ${CHILD_TIMEOUT_MS / 1000} s` }
    : { name: `solve N=${MANY} (two profiles)`, ms: JSON.parse(solve.out).ms, note: `method ${JSON.parse(solve.out).method}; target < 5 s` });
  rows.push(...await targetKindRows());
  const dir = join(root, 'many');
  mkdirSync(dir);
  await writeSyntheticFolder(dir, { name: 'many', snapshots: MANY, bytesPerSnapshot: 4096, dtype: 'F32' });
  const inspect = await child(['inspect', dir]);
  rows.push({ name: `inspect, ${MANY} files`, ms: inspect?.ms ?? null, note: inspect ? `headers only, default grid of 28 targets; peak RSS ${Math.round(inspect.maxRssBytes / MB)} MB` : `did not finish within ${CHILD_TIMEOUT_MS / 1000} s` });
  rows.push(...await planPruneRows(dir));
  rmSync(dir, { recursive: true, force: true });
  const trainBench = join(BENCH_DIR, 'train-step.ts');
  if (quick) rows.push({ name: 'train step', ms: null, note: 'skipped in --quick' });
  else if (!existsSync(trainBench)) rows.push({ name: 'train step', ms: null, note: 'test/bench/train-step.ts not present' });
  else {
    const train = await spawnTimed(process.execPath, ['--import', 'tsx', trainBench], 'pipe', 300_000).catch((error: Error) => ({ timedOut: false, out: `failed: ${error.message.slice(0, 200)}` }));
    for (const line of train.out.trim().split('\n').filter(Boolean)) rows.push({ name: 'train step', ms: null, note: line.trim() });
    if (train.timedOut) rows.push({ name: 'train step', ms: null, note: 'stopped after 300 s' });
  }
  return rows;
}

/** Issue 15: exponential and window targets against the power-target solve, and inspect with realised profiles. */
async function targetKindRows(): Promise<OtherRow[]> {
  const run = await spawnTimed(process.execPath, ['--import', 'tsx', join(BENCH_DIR, 'target-kinds-child.ts'), String(MANY), quick ? '1' : '3'], 'pipe', 2 * CHILD_TIMEOUT_MS);
  if (run.timedOut) return [{ name: 'target kinds', ms: null, note: `did not finish within ${2 * CHILD_TIMEOUT_MS / 1000} s` }];
  const r = JSON.parse(run.out.trim().split('\n').pop()!);
  const versus = (ms: number): string => `${(ms / r.power).toFixed(2)}x the power-target solve (${Math.round(r.power)} ms) in the same process; target < 2x`;
  return [
    { name: `solve N=${r.n}, exponential target (half-life 5%)`, ms: r.exponential, note: versus(r.exponential) },
    { name: `solve N=${r.n}, window target (20%)`, ms: r.window, note: versus(r.window) },
    { name: `inspect with realised profiles, ${r.inspect.snapshots} ema-pytorch snapshots (update_every 100, 10^6 steps)`, ms: r.inspect.ms,
      note: 'plan for the default grid of 28 targets, realised widths, condition number (headers stubbed); target < 10 s' },
  ];
}

/** Issue 16's targets: plan over 1,000 snapshots x 30 targets < 5 s; prune 2,000 -> 500 < 60 s (headers only). */
async function planPruneRows(dir: string): Promise<OtherRow[]> {
  const targets = '0.05,0.055,...,0.195'; // 30 targets
  const snapshots = MANY / 2;
  const plan = await child(['plan', '--duration', '1M', '--every', `${100 / (snapshots / 2)}%`, '--sigma-rel', targets, '--times', '25%,50%,75%,100%', '--json']);
  const planned = plan && JSON.parse(plan.stdout).tables[0].rows[0].snapshots;
  const rows: OtherRow[] = [{ name: `plan, ${planned} snapshots x 30 targets x 4 times`, ms: plan?.ms ?? null, note: plan ? `cpu ${(plan.cpuMs / 1000).toFixed(2)} s; target < 5 s` : 'timed out' }];
  const keep = MANY / 4;
  const prune = await child(['prune', dir, '--keep', String(keep), '--sigma-rel', targets, '--json'], 600_000);
  const chosen = prune && JSON.parse(prune.stdout);
  rows.push({ name: `prune ${MANY} -> ${keep} files, 30 targets (choice, dry run)`, ms: prune?.ms ?? null,
    note: chosen ? `headers only; cpu ${(prune!.cpuMs / 1000).toFixed(1)} s; worst fit error ${(100 * Math.max(...chosen.fit[0].targets.map((t: { before: number }) => t.before))).toFixed(3)}% -> ${(100 * Math.max(...chosen.fit[0].targets.map((t: { after: number }) => t.after))).toFixed(3)}%; peak RSS ${Math.round(prune!.maxRssBytes / MB)} MB; target < 60 s` : 'timed out' });
  const trash = join(root, 'trash');
  const applied = await child(['prune', dir, '--keep', String(keep), '--sigma-rel', targets, '--apply', '--trash', trash, '--json'], 600_000);
  rows.push({ name: `prune ${MANY} -> ${keep} files --apply --trash`, ms: applied?.ms ?? null,
    note: applied ? `choice plus ${MANY - keep} renames, manifest rewritten (and fsynced) before each; cpu ${(applied.cpuMs / 1000).toFixed(1)} s` : 'timed out' });
  rmSync(trash, { recursive: true, force: true });
  return rows;
}

/** `--only plan-prune`: just issue 16's rows, on their own synthetic folder. */
async function planPruneOnly(): Promise<OtherRow[]> {
  const dir = join(root, 'many');
  mkdirSync(dir);
  await writeSyntheticFolder(dir, { name: 'many', snapshots: MANY, bytesPerSnapshot: 4096, dtype: 'F32' });
  try {
    return await planPruneRows(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `--train`: only the training-step rows, for every backend installed here, PyTorch (where a Python
 * with torch is found) measured before and after the TensorFlow.js backends so that a change in the
 * machine's load shows up as two different PyTorch figures.
 */
async function trainOnly(): Promise<void> {
  // `--threads N`: TensorFlow's pool and PyTorch's both get N threads (1: per-step CPU time compares
  // the work itself, which stays meaningful on a busy machine, where 2-thread PyTorch spins).
  const threads = threadsArg >= 0 ? argv[threadsArg + 1] : undefined;
  if (threads !== undefined) process.env.TF_NUM_INTRAOP_THREADS = process.env.BENCH_THREADS = threads;
  const { installedBackends, runTrainStepBench } = await import('./train-step.js');
  const all = (await installedBackends()).filter((b) => b !== 'cpu' && !(threads === '1' && b === 'wasm-parallel'));
  const torch = all.includes('pytorch') ? ['pytorch' as const] : [];
  log(`ema-synth train-step benchmark: ${cpus().length} CPUs (${cpus()[0]?.model}), load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  await runTrainStepBench(log, { backends: [...torch, ...all.filter((b) => b !== 'pytorch'), ...torch], repeats: repeatsArg >= 0 ? repeats : undefined });
  log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
}

async function main(): Promise<void> {
  if (argv.includes('--train')) return trainOnly();
  const free = statfsSync(tmpdir());
  const needed = quick ? 0.2e9 : large ? 8e9 : 4e9;
  if (free.bavail * free.bsize < needed) throw new Error(`${tmpdir()} has ${(free.bavail * free.bsize / 1e9).toFixed(1)} GB free; the benchmark needs ${needed / 1e9} GB`);
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGB: +(totalmem() / 1e9).toFixed(1), freeMemoryGB: +(freemem() / 1e9).toFixed(1), node: process.version, loadAverageAtStart: loadavg().map((l) => +l.toFixed(2)) };
  log(`ema-synth benchmark${quick ? ' (quick)' : ''}: ${machine.cpus} CPUs, ${machine.memoryGB} GB RAM, load ${machine.loadAverageAtStart.join(' ')}, ${repeats} repeat(s), threads ${THREADS.join(', ')}, temp ${root}`);
  const rows: BlendRow[] = [];
  const checks: string[] = [];
  const coldNote: { text?: string } = quick ? { text: 'cold cache not measured in --quick' } : {};
  const scaleRows: OtherRow[] = [];
  for (const c of CASES) if (only === undefined || only.has(c.name)) await benchCase(c, rows, checks, coldNote, scaleRows);
  const other = [...scaleRows, ...(only === undefined ? await others() : [
    ...(only.has('target-kinds') ? await targetKindRows() : []),
    ...(only.has('plan-prune') ? await planPruneOnly() : []),
  ])];
  // EDM2 pickle folders (`--only edm2-pickles` alone): 4 x 768 MB, --large 4 x 3 GB (EDM2-XXL in float16); memory must not grow with them.
  if (only === undefined || only.has('edm2-pickles')) other.push(...await pickleRows(root, quick ? 64 * MB : large ? 3 * 1024 * MB : 768 * MB, child, log));
  const result = { date: new Date().toISOString(), machine: { ...machine, loadAverageAtEnd: loadavg().map((l) => +l.toFixed(2)) }, repeats, rows, other, checks, cold: coldNote.text ?? 'measured (page cache dropped before each cold run)' };
  if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else {
    log('');
    log(markdown ? renderMarkdown(rows, other) : renderTable(rows, other));
    for (const check of checks) log(`check: ${check}`);
    log(`cold cache: ${result.cold}`);
    log(`load average at end: ${result.machine.loadAverageAtEnd.join(' ')}`);
  }
}

main().catch((error: Error) => {
  process.stderr.write(`benchmark failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
