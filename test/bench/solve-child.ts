/**
 * Child process of the benchmark: times the post-hoc EMA solve (src/phema/solve.ts) for N snapshots
 * of two profiles (sigma_rel 0.05 and 0.10, evenly spaced times) and one target, and prints one JSON
 * line { n, ms, method }. A child, so a slow solve can be stopped by a timeout.
 *
 *   node --import tsx test/bench/solve-child.ts 2000
 */
import { performance } from 'node:perf_hooks';
import { sigmaRelToGamma } from '../../src/phema/profile.js';
import { solveCoefficients } from '../../src/phema/solve.js';

const n = Number(process.argv[2] ?? 2000);
const half = Math.ceil(n / 2);
const snapshots = Array.from({ length: n }, (_, i) => ({ time: ((i % half) + 1) * 1000, gamma: sigmaRelToGamma(i < half ? 0.05 : 0.1) }));
const start = performance.now();
const solution = solveCoefficients(snapshots, [sigmaRelToGamma(0.08)], half * 1000);
process.stdout.write(`${JSON.stringify({ n, ms: performance.now() - start, method: solution.method })}\n`);
