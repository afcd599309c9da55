/** The numbers of EDM2's own pickles (test/reference/edm2/README.md), read for assertions. */
import { fileURLToPath } from 'node:url';
import { openSafetensors } from '../../src/safetensors/reader.js';
import { decodeFloats } from '../../src/safetensors/dtype-convert.js';
import { elementCount, type TensorSource } from '../../src/tensors/tensor-source.js';

export const EDM2_REFERENCE = fileURLToPath(new URL('../reference/edm2/edm2-reference.safetensors', import.meta.url));
export const EDM2_FIXTURES = fileURLToPath(new URL('../../fixtures/edm2-pickles/', import.meta.url));

export interface ReferenceTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
  readonly values: Float64Array;
}

export interface Edm2Reference {
  readonly names: readonly string[];
  readonly buffers: ReadonlySet<string>;
  /** `snapshots/phema-0000004-0.050` or `expected/phema-0000049-0.070` -> name -> tensor. */
  readonly files: ReadonlyMap<string, ReadonlyMap<string, ReferenceTensor>>;
}

let cached: Promise<Edm2Reference> | undefined;

export function loadEdm2Reference(): Promise<Edm2Reference> {
  cached ??= (async () => {
    const source = await openSafetensors(EDM2_REFERENCE);
    try {
      const names: string[] = JSON.parse(source.metadata.tensor_names);
      const files = new Map<string, Map<string, ReferenceTensor>>();
      for (const file of JSON.parse(source.metadata.files) as string[]) {
        const tensors = new Map<string, ReferenceTensor>();
        for (const name of names) tensors.set(name, await readAll(source, `${file}/${name}`));
        files.set(file, tensors);
      }
      return { names, buffers: new Set(JSON.parse(source.metadata.buffers) as string[]), files };
    } finally {
      await source.close();
    }
  })();
  return cached;
}

export async function readAll(source: TensorSource, name: string): Promise<ReferenceTensor> {
  const entry = source.tensors.find((t) => t.name === name);
  if (!entry) throw new Error(`${source.path} has no tensor ${name}`);
  const bytes = new Uint8Array(entry.byteLength);
  await source.read(name, 0, bytes);
  const values = new Float64Array(elementCount(entry.shape));
  decodeFloats(entry.dtype, bytes, values);
  return { dtype: entry.dtype, shape: entry.shape, bytes, values };
}

/** Spacing of float16 numbers around `x` (subnormals included). */
export function halfUlp(x: number): number {
  const magnitude = Math.abs(x);
  if (magnitude < 2 ** -14) return 2 ** -24;
  return 2 ** (Math.floor(Math.log2(magnitude)) - 10);
}
