/**
 * Child process of the benchmark (issue 15): in one process, so the ratios compare like with like,
 * (1) the solve for N snapshots of two profiles (sigma_rel 0.05, 0.10, as solve-child.ts) with one
 * power, one exponential (half-life 5% of the target time) and one window (20%) target, each the
 * median of `repeats` runs, with the ratios to the power solve; (2) `inspect`'s work on an
 * ema-pytorch folder of 1,000 snapshots (two profiles, checkpoints every 2,000 of 10^6 steps) with
 * realised profiles of update_every 100: the plan with the default grid of 28 targets, realised
 * widths and condition number, headers stubbed (discovery is measured by the `inspect` row).
 * Prints one JSON line.
 *
 *   node --import tsx test/bench/target-kinds-child.ts 2000 3
 */
import { performance } from 'node:perf_hooks';
import { sigmaRelToGamma } from '../../src/phema/profile.js';
import { solveCoefficients, solveProfiles } from '../../src/phema/solve.js';
import { inspectSnapshots } from '../../src/inspect/inspect-snapshots.js';
import { parseTargets } from '../../src/reconstruct/targets.js';
import type { Snapshot, SnapshotSet } from '../../src/snapshots/discover.js';
import type { TensorSource } from '../../src/tensors/tensor-source.js';

const n = Number(process.argv[2] ?? 2000);
const repeats = Number(process.argv[3] ?? 3);
const half = Math.ceil(n / 2);
const snapshots = Array.from({ length: n }, (_, i) => ({ time: ((i % half) + 1) * 1000, gamma: sigmaRelToGamma(i < half ? 0.05 : 0.1) }));
const time = half * 1000;

function medianMs(work: () => unknown): number {
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const start = performance.now();
    work();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

const power = medianMs(() => solveCoefficients(snapshots, [sigmaRelToGamma(0.08)], time));
const exponential = medianMs(() => solveProfiles(snapshots, [{ kind: 'exponential', rate: Math.LN2 / 0.05 }], time));
const window = medianMs(() => solveProfiles(snapshots, [{ kind: 'window', width: 0.2 }], time));

// 1,000 ema-pytorch snapshots <profile>.<step>.pt, steps 2000..10^6, placed at step + 1 (exact convention).
const source = { tensors: [{ name: 'ema_model.weight', dtype: 'F16', shape: [4] }], metadata: {} } as unknown as TensorSource;
const pt: Snapshot[] = [];
for (let step = 2000; step <= 1_000_000; step += 2000) {
  for (const [index, sigmaRel] of [0.05, 0.1].entries()) {
    pt.push({ sigmaRel, gamma: sigmaRelToGamma(sigmaRel), time: step + 1, timeUnit: 'step', origin: 'file name', path: `${index}.${step}.pt`, fileName: `${index}.${step}.pt`, source, bytes: 0 });
  }
}
pt.sort((a, b) => a.time - b.time || a.gamma - b.gamma);
const set: SnapshotSet = { dir: 'synthetic', snapshots: pt, timeUnit: 'step', notes: [], emaPytorch: true, edm2Pickles: false };
const grid = parseTargets({ sigmaRel: '0.01,0.02,...,0.28' });
let realisedFit = 0;
const inspectMs = medianMs(() => {
  const inspection = inspectSnapshots(set, grid, undefined, 'exact', { updateEvery: 100 });
  realisedFit = inspection.fit[9].fit_error;
});
process.stdout.write(`${JSON.stringify({ n, power, exponential, window, inspect: { snapshots: pt.length, ms: inspectMs, fitAt010: realisedFit } })}\n`);
