/**
 * Child process of the benchmark: runs one CLI command through the real code path and prints one
 * JSON line on stdout: { code, ms, cpuMs, maxRssBytes, stdout, stderr }. Its own process, so the peak RSS
 * belongs to that command alone; `ms` excludes Node and tsx start-up (the same for every case).
 *
 *   node --import tsx test/bench/run-child.ts reconstruct <dir> --sigma-rel ... --out-dir ... --json
 */
import { performance } from 'node:perf_hooks';
import { run } from '../../src/cli/main.js';

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
