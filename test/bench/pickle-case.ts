/**
 * The EDM2 pickle rows of the benchmark: a generated folder of pickles in EDM2's structure
 * (fixtures/edm2-pickle-builder.ts), reconstructed into a pickle and into safetensors. The point is
 * memory: a snapshot of gigabytes (EDM2-XXL in float16 is ~3 GB) must never be held whole, so the
 * rows report peak RSS beside the snapshot size. Outputs are checked against each other.
 */
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { writeEdm2Pickle, type BuilderTensor } from '../../fixtures/edm2-pickle-builder.js';
import { openEdm2Pickle } from '../../src/pytorch/edm2-pickle-source.js';
import { openSafetensors } from '../../src/safetensors/reader.js';
import type { OtherRow } from './report.js';
import { syntheticLayout } from './synthetic-snapshots.js';

const MB = 2 ** 20;
/** Bytes of distinct float16 values; the builder asks for at most 1 MiB at a time. */
const PERIOD = MB;

/** PERIOD bytes of float16 values in [0.5, 2), stored twice in a row so any 1 MiB run is one subarray. */
function valueBlock(): Uint8Array {
  const block = new Uint8Array(2 * PERIOD);
  let state = 0x9e3779b9;
  for (let b = 0; b < PERIOD; b += 2) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    block[b] = state >>> 24;
    block[b + 1] = 0x38 + ((state >>> 16) & 3);
  }
  block.copyWithin(PERIOD, 0, PERIOD);
  return block;
}
type Child = (args: string[], timeoutMs?: number) => Promise<{ ms: number; maxRssBytes: number } | undefined>;

export async function pickleRows(root: string, bytesPerSnapshot: number, child: Child, log: (line: string) => void): Promise<OtherRow[]> {
  const dir = join(root, 'edm2-pickles');
  const out = join(root, 'edm2-out');
  mkdirSync(dir);
  mkdirSync(out);
  try {
    const layout = syntheticLayout({ name: 'pkl', snapshots: 4, bytesPerSnapshot, dtype: 'F16' }).filter((t) => t.dtype === 'F16');
    const block = valueBlock();
    const started = Date.now();
    let total = 0;
    for (const [i, kimg] of [4, 4, 8, 8].entries()) {
      const std = i % 2 === 0 ? '0.050' : '0.100';
      const tensors: BuilderTensor[] = layout.map((t, n) => ({
        name: t.name, dtype: 'F16', shape: t.shape, kind: 'parameter',
        // Rotations of one block of finite float16 values, different per snapshot and tensor: written at disk speed.
        fill: (offset, target) => {
          const from = (offset + 2 * (7919 * n + 4099 * i)) % PERIOD;
          target.set(block.subarray(from, from + target.byteLength));
        },
      }));
      const path = join(dir, `network-snapshot-${String(kimg).padStart(7, '0')}-${std}.pkl`);
      await writeEdm2Pickle(path, tensors);
      total += statSync(path).size;
    }
    log(`edm2 pickles: generated 4 x ${(total / 4 / 1e9).toFixed(2)} GB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const rows: OtherRow[] = [];
    for (const name of ['phema-0000008-0.070.pkl', 'phema-0000008-0.070.safetensors']) {
      const run = await child(['reconstruct', dir, '--sigma-rel', '0.07', '--out', join(out, name), '--json'], 900_000);
      const label = `reconstruct 4 EDM2 pickles of ${(total / 4 / 1e9).toFixed(2)} GB -> ${name.endsWith('.pkl') ? 'pickle' : 'safetensors'}`;
      if (run === undefined) {
        rows.push({ name: label, ms: null, note: 'did not finish within 900 s' });
        continue;
      }
      rows.push({ name: label, ms: run.ms, note: `peak RSS ${Math.round(run.maxRssBytes / MB)} MB; ${((total / 1e9) / (run.ms / 1000)).toFixed(2)} GB/s read` });
      log(`  ${label}: ${(run.ms / 1000).toFixed(2)} s, peak RSS ${Math.round(run.maxRssBytes / MB)} MB`);
    }
    rows.push({ name: 'edm2 pickle output check', ms: null, note: await compareOutputs(join(out, 'phema-0000008-0.070.pkl'), join(out, 'phema-0000008-0.070.safetensors')) });
    return rows;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(out, { recursive: true, force: true });
  }
}

/** The pickle's tensors read back equal the safetensors output's (first and last MiB of each large tensor). */
async function compareOutputs(pickle: string, safetensors: string): Promise<string> {
  const a = await openEdm2Pickle(pickle);
  const b = await openSafetensors(safetensors);
  try {
    let compared = 0;
    for (const tensor of b.tensors) {
      for (const at of new Set([0, Math.max(0, tensor.byteLength - MB)])) {
        const n = Math.min(MB, tensor.byteLength - at);
        const x = new Uint8Array(n);
        const y = new Uint8Array(n);
        await a.read(tensor.name, at, x);
        await b.read(tensor.name, at, y);
        if (!Buffer.from(x).equals(Buffer.from(y))) return `MISMATCH in ${tensor.name} at byte ${at}`;
        compared += n;
      }
    }
    return `pickle output reads back equal to the safetensors output (${(compared / MB).toFixed(0)} MB compared)`;
  } finally {
    await a.close();
    await b.close();
  }
}
