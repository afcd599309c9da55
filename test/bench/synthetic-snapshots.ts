/**
 * Deterministic synthetic snapshot folders for the benchmark: N files of one layout (a realistic
 * mix of a few large tensors and many small ones, plus one integer buffer), two EMA profiles
 * (sigma_rel 0.05 and 0.10) at evenly spaced times. Values are rotations of one pseudo-random block,
 * so a folder of gigabytes is written at disk speed.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeHeader, type TensorSpec } from '../../src/safetensors/writer.js';
import { encodeFloats } from '../../src/safetensors/dtype-convert.js';
import { DTYPE_BYTES, elementCount } from '../../src/tensors/tensor-source.js';

export interface SyntheticCase {
  readonly name: string;
  readonly snapshots: number;
  /** Bytes of float data per snapshot (approximately; rounded to whole tensors). */
  readonly bytesPerSnapshot: number;
  readonly dtype: 'F32' | 'F16';
}

/** Tensor sizes cycle through this pattern, so every case has large and tiny tensors. */
const SIZE_PATTERN = [4 << 20, 1 << 20, 256 << 10, 64 << 10, 4096, 513, 1];

export function syntheticLayout(c: SyntheticCase): TensorSpec[] {
  const size = DTYPE_BYTES[c.dtype];
  const tensors: TensorSpec[] = [];
  let bytes = 0;
  for (let n = 0; bytes < c.bytesPerSnapshot; n++) {
    const remaining = Math.ceil((c.bytesPerSnapshot - bytes) / size);
    const elements = Math.min(SIZE_PATTERN[n % SIZE_PATTERN.length], remaining);
    tensors.push({ name: `block.${n}.weight`, dtype: c.dtype, shape: elements === 1 ? [] : [elements] });
    bytes += elements * size;
  }
  tensors.push({ name: 'step_counter', dtype: 'I64', shape: [4] });
  return tensors;
}

const PERIOD = 1 << 20;

/**
 * PERIOD pseudo-random values in [-1.5, 1.5) encoded as `dtype`, stored twice in a row: snapshot i's
 * element e is block value (e + 7919 i) mod PERIOD, so any run of up to PERIOD elements is one
 * subarray and writing costs no arithmetic.
 */
function valueBlock(dtype: 'F32' | 'F16'): Uint8Array {
  const values = new Float64Array(PERIOD);
  let state = 0x12345678;
  for (let j = 0; j < PERIOD; j++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    values[j] = ((state >>> 0) / 4294967296) * 3 - 1.5;
  }
  const size = DTYPE_BYTES[dtype];
  const block = new Uint8Array(2 * PERIOD * size);
  encodeFloats(dtype, values, block.subarray(0, PERIOD * size));
  block.copyWithin(PERIOD * size, 0, PERIOD * size);
  return block;
}

export function snapshotProfile(i: number, n: number): { sigmaRel: number; time: number } {
  const half = Math.ceil(n / 2);
  return { sigmaRel: i < half ? 0.05 : 0.1, time: ((i % half) + 1) * 1000 };
}

export function snapshotFileName(i: number): string {
  return `snap-${String(i).padStart(5, '0')}.safetensors`;
}

export async function writeSyntheticFolder(dir: string, c: SyntheticCase): Promise<string[]> {
  const layout = syntheticLayout(c);
  const block = valueBlock(c.dtype);
  const size = DTYPE_BYTES[c.dtype];
  const paths: string[] = [];
  for (let i = 0; i < c.snapshots; i++) {
    const { sigmaRel, time } = snapshotProfile(i, c.snapshots);
    const path = join(dir, snapshotFileName(i));
    const metadata = { ema_sigma_rel: String(sigmaRel), ema_time: String(time), ema_time_unit: 'step' };
    const header = encodeHeader({ tensors: layout, metadata }, path);
    const handle = await open(path, 'wx');
    try {
      let position = 0;
      const write = async (data: Uint8Array): Promise<void> => {
        await handle.write(data, 0, data.byteLength, position);
        position += data.byteLength;
      };
      await write(header.bytes);
      let e = 0;
      for (const tensor of layout) {
        const count = elementCount(tensor.shape);
        if (tensor.dtype === 'I64') {
          await write(new Uint8Array(count * 8).fill(i & 0xff));
          continue;
        }
        for (let start = 0; start < count; start += PERIOD) {
          const n = Math.min(PERIOD, count - start);
          const from = (e + 7919 * i) % PERIOD;
          await write(block.subarray(from * size, (from + n) * size));
          e += n;
        }
      }
    } finally {
      await handle.close();
    }
    paths.push(path);
  }
  return paths;
}
