/**
 * Snapshot files for the blend engine's tests, and the blend's definition computed independently
 * of the engine: per element, acc = 0, then acc += w * v for each non-zero weight in snapshot order,
 * rounded once to the output dtype; integer tensors copied from the last snapshot.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeFloats, encodeFloats } from '../../src/safetensors/dtype-convert.js';
import { writeSafetensorsFile, type TensorWithData } from '../../src/safetensors/writer.js';
import { DTYPE_BYTES, elementCount, type DType } from '../../src/tensors/tensor-source.js';
import { seededRandom } from './seeded-random.js';

export interface TensorSpec { readonly name: string; readonly dtype: DType; readonly shape: number[] }
export interface Poison { readonly snapshot: number; readonly tensor: number; readonly element: number }

export interface BlendFixture {
  readonly dir: string;
  readonly layout: readonly TensorSpec[];
  readonly paths: string[];
  /** data[i][tensor index]: the raw bytes written. */
  readonly data: Uint8Array[][];
}

export interface FixtureOptions {
  readonly layout: readonly TensorSpec[];
  readonly snapshots: number;
  readonly seed: number;
  /** Metadata padding per file: varying lengths move the data section, so files differ in alignment. */
  readonly pad: (snapshot: number) => string;
  /** Elements set to NaN. */
  readonly poison?: readonly Poison[];
}

export async function makeBlendSnapshots(t: { after(fn: () => void): void }, options: FixtureOptions): Promise<BlendFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'blend-fixture-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const next = seededRandom(options.seed);
  const paths: string[] = [];
  const data: Uint8Array[][] = [];
  for (let i = 0; i < options.snapshots; i++) {
    const tensors: TensorWithData[] = options.layout.map((spec, index) => {
      const count = elementCount(spec.shape);
      const bytes = new Uint8Array(count * DTYPE_BYTES[spec.dtype]);
      if (spec.dtype === 'I32') bytes.fill(i);
      else {
        const values = Float64Array.from({ length: count }, () => (next() - 0.5) * 4);
        for (const p of options.poison ?? []) {
          if (p.snapshot !== i || p.tensor !== index) continue;
          assert.ok(p.element < count, `poisoned element ${p.element} is outside ${spec.name}`);
          values[p.element] = NaN;
        }
        encodeFloats(spec.dtype, values, bytes);
      }
      return { ...spec, data: bytes };
    });
    const path = join(dir, `s${i}.safetensors`);
    await writeSafetensorsFile(path, tensors, { pad: options.pad(i) });
    paths.push(path);
    data.push(tensors.map((tensor) => tensor.data));
  }
  return { dir, layout: options.layout, paths, data };
}

/** The definition, independently of the engine. */
export function expectedBlend(fixture: BlendFixture, weights: readonly number[], outputDType: 'same' | 'f16'): Uint8Array {
  const last = fixture.data.length - 1;
  return Buffer.concat(fixture.layout.map((spec, index) => {
    if (spec.dtype === 'I32') return fixture.data[last][index];
    const count = elementCount(spec.shape);
    const sum = new Float64Array(count);
    const values = new Float64Array(count);
    fixture.data.forEach((snapshot, i) => {
      if (weights[i] === 0) return;
      decodeFloats(spec.dtype, snapshot[index], values);
      for (let e = 0; e < count; e++) sum[e] += weights[i] * values[e];
    });
    const dtype = outputDType === 'f16' ? 'F16' : spec.dtype;
    const bytes = new Uint8Array(count * DTYPE_BYTES[dtype]);
    encodeFloats(dtype, sum, bytes);
    return bytes;
  }));
}

/** An output sink in memory whose writes complete later, as a real file's do. */
export class MemorySink {
  private readonly chunks: Uint8Array[] = [];
  async write(bytes: Uint8Array): Promise<void> {
    await new Promise((resolve) => setImmediate(resolve));
    this.chunks.push(bytes.slice());
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}
