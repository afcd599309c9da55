/**
 * Checks reconstructed files before any speed is reported: for a sample of elements, the output
 * value must equal sum_i c_i * snapshot_i computed here in float64, with the coefficients that
 * `reconstruct --json` printed. Independent of the engine: its own header parsing (JSON.parse), its
 * own element reads (one pread each) and its own F16 decoding.
 */
import { closeSync, openSync, readSync } from 'node:fs';

interface HeaderEntry { dtype: string; shape: number[]; data_offsets: [number, number] }
interface ParsedHeader { dataStart: number; tensors: Map<string, HeaderEntry> }

export interface VerifyTarget {
  readonly output: string;
  readonly coefficients: readonly { file: string; coefficient: number }[];
}

export interface VerifyResult {
  readonly samples: number;
  readonly worstErrorOverTolerance: number;
  readonly ok: boolean;
}

const SIZES: Record<string, number> = { F32: 4, F16: 2, F64: 8 };
/** Allowed |out - truth| / max(|truth|, 1e-3): half an ulp of the output dtype plus summation-order slack. */
const TOLERANCE: Record<string, number> = { F32: 2 ** -22, F16: 2 ** -10, F64: 1e-12 };

function readHeader(fd: number): ParsedHeader {
  const prefix = Buffer.alloc(8);
  readSync(fd, prefix, 0, 8, 0);
  const length = Number(prefix.readBigUInt64LE(0));
  const json = Buffer.alloc(length);
  readSync(fd, json, 0, length, 8);
  const parsed = JSON.parse(json.toString('utf8')) as Record<string, HeaderEntry>;
  delete parsed.__metadata__;
  return { dataStart: 8 + length, tensors: new Map(Object.entries(parsed)) };
}

function half(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function readElement(fd: number, header: ParsedHeader, name: string, index: number): { value: number; dtype: string } {
  const entry = header.tensors.get(name);
  if (entry === undefined) throw new Error(`no tensor ${name}`);
  const size = SIZES[entry.dtype];
  const bytes = Buffer.alloc(size);
  readSync(fd, bytes, 0, size, header.dataStart + entry.data_offsets[0] + index * size);
  const value = entry.dtype === 'F32' ? bytes.readFloatLE(0) : entry.dtype === 'F16' ? half(bytes.readUInt16LE(0)) : bytes.readDoubleLE(0);
  return { value, dtype: entry.dtype };
}

/** Deterministic sample: `count` (tensor, element) pairs spread over the float tensors. */
function samplePoints(header: ParsedHeader, count: number): { name: string; index: number }[] {
  const floats = [...header.tensors].filter(([, t]) => SIZES[t.dtype] !== undefined);
  const points: { name: string; index: number }[] = [];
  for (let s = 0; s < count; s++) {
    const [name, entry] = floats[(s * 7) % floats.length];
    const elements = entry.shape.reduce((a, b) => a * b, 1);
    points.push({ name, index: Math.floor(((s * 2654435761) % 4294967296) / 4294967296 * elements) });
  }
  return points;
}

export function verifyOutputs(targets: readonly VerifyTarget[], samplesPerTarget = 32): VerifyResult {
  let samples = 0;
  let worst = 0;
  const fds = new Map<string, { fd: number; header: ParsedHeader }>();
  const opened = (path: string): { fd: number; header: ParsedHeader } => {
    let entry = fds.get(path);
    if (entry === undefined) {
      const fd = openSync(path, 'r');
      entry = { fd, header: readHeader(fd) };
      fds.set(path, entry);
    }
    return entry;
  };
  try {
    for (const target of targets) {
      const output = opened(target.output);
      for (const point of samplePoints(output.header, samplesPerTarget)) {
        let truth = 0;
        for (const { file, coefficient } of target.coefficients) {
          const snapshot = opened(file);
          truth += coefficient * readElement(snapshot.fd, snapshot.header, point.name, point.index).value;
        }
        const actual = readElement(output.fd, output.header, point.name, point.index);
        const error = Math.abs(actual.value - truth) / Math.max(Math.abs(truth), 1e-3) / TOLERANCE[actual.dtype];
        worst = Math.max(worst, Number.isNaN(error) ? Infinity : error);
        samples++;
      }
      // Keep descriptors few: snapshot folders may hold thousands of files.
      for (const [path, { fd }] of fds) if (path !== target.output) { closeSync(fd); fds.delete(path); }
    }
  } finally {
    for (const { fd } of fds.values()) closeSync(fd);
  }
  return { samples, worstErrorOverTolerance: worst, ok: worst <= 1 };
}
