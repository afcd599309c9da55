import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { encodeHeader } from '../src/safetensors/writer.js';
import { REPO_DIR, makeTempDir } from './helpers/cli.js';
import { readTensorValues } from './helpers/read-tensor.js';

const FILES = 2000;
const HALF = FILES / 2;
const ELEMENTS = 6;
/** Snapshots at times <= USED_TIME are blended: 2 x 150 = 300 files, more than the 256 descriptors allowed. */
const USED_TIME = 150;

function value(i: number, e: number): number {
  return Math.fround(Math.sin(i * 0.37 + e) * 2);
}

/** Raw files (no fsync): 2,000 atomic writes would spend seconds in fsync alone. */
function writeFolder(dir: string): void {
  for (let i = 0; i < FILES; i++) {
    const metadata = { ema_sigma_rel: i < HALF ? '0.05' : '0.1', ema_time: String((i % HALF) + 1), ema_time_unit: 'step' };
    const header = encodeHeader({ tensors: [{ name: 'w', dtype: 'F32', shape: [ELEMENTS] }], metadata }, dir);
    const data = Float32Array.from({ length: ELEMENTS }, (_, e) => value(i, e));
    writeFileSync(join(dir, `s${String(i).padStart(4, '0')}.safetensors`), Buffer.concat([header.bytes, new Uint8Array(data.buffer)]));
  }
}

test('2,000 snapshot files reconstruct under `ulimit -n 256`, blending 300 of them', (t) => {
  const dir = makeTempDir(t);
  const snapshots = join(dir, 'snapshots');
  spawnSync('mkdir', [snapshots]);
  writeFolder(snapshots);
  const out = join(dir, 'out.safetensors');
  const cli = `const m = await import(${JSON.stringify(join(REPO_DIR, 'src/cli/main.ts'))}); process.exitCode = await m.run(process.argv.slice(1));`;
  const script = 'ulimit -n 256 && exec "$0" --import tsx --input-type=module -e "$1" reconstruct "$2" --sigma-rel 0.08 --time "$3" --out "$4" --json';
  const result = spawnSync('sh', ['-c', script, process.execPath, cli, snapshots, String(USED_TIME), out], { cwd: REPO_DIR, encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  const target = report.targets[0];
  assert.equal(target.snapshots_used, 2 * USED_TIME);

  // Independent check of the output: the float64 sum of value(i, e) with the printed coefficients.
  const terms: { i: number; w: number }[] = target.coefficients.map((c: { file: string; coefficient: number }) => ({
    i: Number(basename(c.file).slice(1, 5)), w: c.coefficient,
  }));
  assert.equal(new Set(terms.map((term) => term.i)).size, 2 * USED_TIME);
  return readTensorValues(out, 'w').then((actual) => {
    for (let e = 0; e < ELEMENTS; e++) {
      let sum = 0;
      for (const term of terms) sum += term.w * value(term.i, e);
      assert.ok(Math.abs(actual[e] - sum) <= 1e-5 * Math.max(1, Math.abs(sum)), `element ${e}: ${actual[e]} vs ${sum}`);
    }
  });
});
