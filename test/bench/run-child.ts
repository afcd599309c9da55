/**
 * Child process of the benchmark: runs one CLI command through the real code path and prints one
 * JSON line on stdout: { code, ms, cpuMs, maxRssBytes, stdout, stderr }. Its own process, so the peak RSS
 * belongs to that command alone; `ms` excludes Node and tsx start-up (the same for every case).
 * It runs the compiled program in dist/ (what users run; `npm run bench` builds it first), so the
 * blend's helper thread starts as plain JavaScript, not through tsx.
 *
 *   node --import tsx test/bench/run-child.ts reconstruct <dir> --sigma-rel ... --out-dir ... --json
 */
import { performance } from 'node:perf_hooks';

// Typed as the source, loaded from the build.
const { run } = (await import(new URL('../../dist/cli/main.js', import.meta.url).href)) as typeof import('../../src/cli/main.js');

let stdout = '';
let stderr = '';
const start = performance.now();
const code = await run(process.argv.slice(2), {
  stdout: { write: (text: string) => { stdout += text; return true; } },
  stderr: { write: (text: string) => { stderr += text; return true; }, isTTY: false },
  env: { NO_COLOR: '1' },
});
const ms = performance.now() - start;
const usage = process.resourceUsage();
// maxRSS is in kilobytes (getrusage).
process.stdout.write(`${JSON.stringify({ code, ms, cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000, maxRssBytes: usage.maxRSS * 1024, stdout, stderr: stderr.slice(-2000) })}\n`);
