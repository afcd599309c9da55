import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openTensorFile } from '../src/snapshots/open-tensor-file.js';
import { ARGUMENT_LAYOUT, BYTES_OPCODES } from '../src/pytorch/pickle-opcodes.js';
import { sigmaRelToGamma } from '../src/phema/profile.js';
import { makeTempDir, runCli } from './helpers/cli.js';
import { EDM2_FIXTURES, halfUlp, loadEdm2Reference, readAll } from './helpers/edm2-reference.js';

const FIXTURE_FILES = readdirSync(EDM2_FIXTURES).filter((f) => f.endsWith('.pkl')).sort();

test('fixture pickles read to the names, shapes, dtypes and values extracted from EDM2\'s own pickles', async () => {
  const reference = await loadEdm2Reference();
  assert.equal(FIXTURE_FILES.length, 24);
  for (const file of FIXTURE_FILES) {
    const source = await openTensorFile(join(EDM2_FIXTURES, file));
    try {
      assert.deepEqual(source.tensors.map((t) => t.name), reference.names, `${file}: state_dict() names and order`);
      assert.deepEqual([...(source.bufferNames ?? [])].sort(), [...reference.buffers].sort());
      const expected = reference.files.get(`snapshots/${file.slice(0, -4)}`)!;
      for (const name of reference.names) {
        const actual = await readAll(source, name);
        const truth = expected.get(name)!;
        assert.equal(actual.dtype, truth.dtype, `${file} ${name}`);
        assert.deepEqual(actual.shape, truth.shape, `${file} ${name}`);
        assert.ok(Buffer.from(actual.bytes).equals(Buffer.from(truth.bytes)), `${file} ${name}: values differ`);
      }
    } finally {
      await source.close();
    }
  }
});

/** Worst difference in float16 steps, and how many values differ at all; buffers must be identical. */
async function compareToOfficial(path: string, stem: string): Promise<{ worstSteps: number; differing: number; total: number }> {
  const reference = await loadEdm2Reference();
  const expected = reference.files.get(`expected/${stem}`)!;
  const source = await openTensorFile(path);
  let worstSteps = 0;
  let differing = 0;
  let total = 0;
  try {
    for (const name of reference.names) {
      const actual = await readAll(source, name);
      const truth = expected.get(name)!;
      assert.equal(actual.dtype, 'F16', name);
      if (reference.buffers.has(name)) assert.ok(Buffer.from(actual.bytes).equals(Buffer.from(truth.bytes)), `${stem} buffer ${name} is not the last snapshot's`);
      for (let i = 0; i < truth.values.length; i++) {
        total++;
        if (actual.values[i] === truth.values[i]) continue;
        differing++;
        worstSteps = Math.max(worstSteps, Math.abs(actual.values[i] - truth.values[i]) / halfUlp(Math.max(Math.abs(actual.values[i]), Math.abs(truth.values[i]))));
      }
    }
  } finally {
    await source.close();
  }
  return { worstSteps, differing, total };
}

test('reconstructions equal the official reconstruct_phema.py outputs within float16 rounding, at the last time and at kimg 24', async (t) => {
  const dir = makeTempDir(t);
  for (const time of [[], ['--time', '24576']]) {
    const result = await runCli(['reconstruct', EDM2_FIXTURES, '--sigma-rel', '0.07,0.15', '--out-dir', dir, ...time]);
    assert.equal(result.code, 0, result.stderr);
  }
  assert.deepEqual(readdirSync(dir).sort(), ['phema-0000024-0.070.pkl', 'phema-0000024-0.150.pkl', 'phema-0000049-0.070.pkl', 'phema-0000049-0.150.pkl']);
  for (const file of readdirSync(dir)) {
    const { worstSteps, differing, total } = await compareToOfficial(join(dir, file), file.slice(0, -4));
    // The official tool accumulates in float32, we in float64: the same float16 value or its neighbour.
    assert.ok(worstSteps <= 1, `${file}: a value is ${worstSteps} float16 steps from the official one`);
    assert.ok(differing <= total / 1000, `${file}: ${differing} of ${total} values differ from the official output`);
  }
});

test('reconstructions match the closed-form EMA of the reference trajectory within the reported fit error', async (t) => {
  // The reference run's parameters follow theta(tau) = A + B x + C x^2, x = tau / T (T = 49152), and each snapshot
  // is their exact power-function EMA: E[x^k] = (t/T)^k (gamma+1)/(gamma+1+k). A, B, C are recovered per element by
  // least squares from the 24 float16 snapshots; the bound is the one of reconstruct.test.ts (Cauchy-Schwarz) plus
  // float16 rounding: |recon - exact| <= fit_error * ||p_target|| * ||theta|| + (sum|c| + 1) * (residual + ulp).
  const T = 49152;
  const reference = await loadEdm2Reference();
  const snapshots = FIXTURE_FILES.map((f) => ({ stem: f.slice(0, -4), time: Math.floor((Number(f.split('-')[1]) * 1000 + 999) / 1024) * 1024, gamma: sigmaRelToGamma(Number(f.split('-')[2].slice(0, -4))) }));
  const dir = makeTempDir(t);
  const result = await runCli(['reconstruct', EDM2_FIXTURES, '--sigma-rel', '0.07,0.15', '--out-dir', dir, '--json', '--dtype', 'f32']);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  const design = snapshots.map((s) => [1, (s.time / T) * (s.gamma + 1) / (s.gamma + 2), (s.time / T) ** 2 * (s.gamma + 1) / (s.gamma + 3)]);
  const solveNormal = (y: number[]): number[] => {
    const m = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]];
    for (let r = 0; r < y.length; r++) for (let i = 0; i < 3; i++) { for (let j = 0; j < 3; j++) m[i][j] += design[r][i] * design[r][j]; m[i][3] += design[r][i] * y[r]; }
    for (let i = 0; i < 3; i++) for (let k = i + 1; k < 3; k++) { const f = m[k][i] / m[i][i]; for (let j = i; j < 4; j++) m[k][j] -= f * m[i][j]; }
    const x = [0, 0, 0];
    for (let i = 2; i >= 0; i--) {
      let rest = m[i][3];
      for (let j = i + 1; j < 3; j++) rest -= m[i][j] * x[j];
      x[i] = rest / m[i][i];
    }
    return x;
  };
  let worstRatio = 0;
  for (const target of report.targets) {
    const gamma = sigmaRelToGamma(target.sigma_rel);
    const u = target.time / T;
    const targetNorm = Math.sqrt((gamma + 1) ** 2 / ((2 * gamma + 1) * target.time));
    for (const name of reference.names.filter((n) => !reference.buffers.has(n))) {
      const output = await openTensorFile(target.output);
      const actual = (await readAll(output, name)).values;
      await output.close();
      for (let e = 0; e < actual.length; e++) {
        const y = snapshots.map((s) => reference.files.get(`snapshots/${s.stem}`)!.get(name)!.values[e]);
        const [a, b, c] = solveNormal(y);
        const residual = Math.max(...y.map((v, r) => Math.abs(v - (a + b * design[r][1] + c * design[r][2]))));
        const exact = a + b * u * (gamma + 1) / (gamma + 2) + c * u * u * (gamma + 1) / (gamma + 3);
        // ||theta||^2 over [0, t] = T * integral_0^u (a + b x + c x^2)^2 dx
        const integral = a * a * u + a * b * u ** 2 + (b * b + 2 * a * c) * u ** 3 / 3 + b * c * u ** 4 / 2 + c * c * u ** 5 / 5;
        const bound = target.fit_error * targetNorm * Math.sqrt(T * integral) + (target.sum_abs_coefficients + 1) * (residual + halfUlp(exact));
        const error = Math.abs(actual[e] - exact);
        assert.ok(error <= bound, `${name}[${e}] at sigma_rel ${target.sigma_rel}: error ${error} > bound ${bound}`);
        worstRatio = Math.max(worstRatio, error / bound);
      }
    }
  }
  assert.ok(worstRatio > 0, 'the comparison compared nothing');
});

/** (opcode, argument) pairs of a pickle file, walked with the opcode layouts; bytes payloads kept whole. */
function opcodeStream(bytes: Uint8Array): { op: number; arg: Uint8Array }[] {
  const ops: { op: number; arg: Uint8Array }[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  for (;;) {
    const op = bytes[at++];
    const layout = ARGUMENT_LAYOUT.get(op)!;
    const start = at;
    if ('fixed' in layout) at += layout.fixed;
    else if ('lines' in layout) for (let l = 0; l < layout.lines; l++) at = bytes.indexOf(0x0a, at) + 1;
    else {
      const n = layout.counted === 1 ? bytes[at] : layout.counted === 4 ? view.getUint32(at, true) : Number(view.getBigUint64(at, true));
      at += layout.counted + n;
    }
    ops.push({ op, arg: bytes.subarray(start, at) });
    if (op === 0x2e) return ops;
  }
}

test('output pickles read back to the blended values, and their opcodes equal the template\'s outside the replaced tensor data', async (t) => {
  const dir = makeTempDir(t);
  for (const out of ['out.pkl', 'out.safetensors']) {
    const result = await runCli(['reconstruct', EDM2_FIXTURES, '--sigma-rel', '0.08', '--out', join(dir, out)]);
    assert.equal(result.code, 0, result.stderr);
  }
  const pickle = await openTensorFile(join(dir, 'out.pkl'));
  const safetensors = await openTensorFile(join(dir, 'out.safetensors'));
  for (const entry of safetensors.tensors) {
    assert.ok(Buffer.from((await readAll(pickle, entry.name)).bytes).equals(Buffer.from((await readAll(safetensors, entry.name)).bytes)), entry.name);
  }
  await pickle.close();
  await safetensors.close();

  const template = opcodeStream(readFileSync(join(EDM2_FIXTURES, FIXTURE_FILES[0])));
  const written = opcodeStream(readFileSync(join(dir, 'out.pkl')));
  assert.equal(written.length, template.length);
  let payloads = 0;
  let changedPayloads = 0;
  for (let i = 0; i < template.length; i++) {
    assert.equal(written[i].op, template[i].op, `opcode ${i}`);
    if (BYTES_OPCODES.has(template[i].op)) {
      payloads++;
      // A storage payload: the legacy header (everything before the data) is unchanged, the data replaced.
      const counted = template[i].op === 0x43 ? 1 : template[i].op === 0x42 ? 4 : 8;
      const a = template[i].arg.subarray(counted);
      const b = written[i].arg.subarray(counted);
      assert.equal(b.byteLength, a.byteLength);
      const dataStart = headerEnd(a);
      assert.ok(Buffer.from(a.subarray(0, dataStart)).equals(Buffer.from(b.subarray(0, dataStart))), `payload ${payloads} header`);
      if (!Buffer.from(a).equals(Buffer.from(b))) changedPayloads++;
    } else {
      assert.ok(Buffer.from(written[i].arg).equals(Buffer.from(template[i].arg)), `opcode ${i} argument`);
    }
  }
  assert.equal(payloads, 63);
  assert.ok(changedPayloads >= 50, `only ${changedPayloads} payloads got new values`);
});

/** End of a legacy storage header: after the key list's STOP comes the 8-byte element count. */
function headerEnd(payload: Uint8Array): number {
  let stops = 0;
  let at = 0;
  while (stops < 5) {
    const ops = opcodeStream(payload.subarray(at));
    at += ops.reduce((n, o) => n + 1 + o.arg.byteLength, 0);
    stops++;
  }
  return at + 8;
}

test('--dtype f32 writes float32 storages the reader reads back; frames stay consistent', async (t) => {
  const dir = makeTempDir(t);
  for (const out of ['out.pkl', 'out.safetensors']) {
    const result = await runCli(['reconstruct', EDM2_FIXTURES, '--sigma-rel', '0.08', '--dtype', 'f32', '--out', join(dir, out)]);
    assert.equal(result.code, 0, result.stderr);
  }
  const pickle = await openTensorFile(join(dir, 'out.pkl'));
  const safetensors = await openTensorFile(join(dir, 'out.safetensors'));
  for (const entry of safetensors.tensors) {
    const a = await readAll(pickle, entry.name);
    assert.equal(a.dtype, entry.dtype, entry.name);
    assert.ok(Buffer.from(a.bytes).equals(Buffer.from((await readAll(safetensors, entry.name)).bytes)), entry.name);
  }
  await pickle.close();
  await safetensors.close();
  // Payloads grew inside frames: every FRAME must still end on an opcode boundary (Python's unpickler checks).
  const ops = opcodeStream(readFileSync(join(dir, 'out.pkl')));
  const boundaries = new Set<number>();
  let at = 0;
  for (const o of ops) { boundaries.add(at); at += 1 + o.arg.byteLength; }
  boundaries.add(at);
  let frames = 0;
  at = 0;
  for (const o of ops) {
    if (o.op === 0x95) {
      frames++;
      const end = at + 9 + Number(new DataView(o.arg.buffer, o.arg.byteOffset).getBigUint64(0, true));
      assert.ok(boundaries.has(end), `the frame at byte ${at} ends inside an opcode (${end})`);
    }
    at += 1 + o.arg.byteLength;
  }
  assert.ok(frames >= 2);
});

test('pickle folders: --prefix picks a run, mixed formats and several prefixes are refused, .pkl outputs need pickle inputs', async (t) => {
  const dir = makeTempDir(t);
  for (const file of FIXTURE_FILES.slice(0, 4)) copyFileSync(join(EDM2_FIXTURES, file), join(dir, file.replace('phema', 'network-snapshot')));
  for (const file of FIXTURE_FILES.slice(0, 4)) copyFileSync(join(EDM2_FIXTURES, file), join(dir, file));
  const several = await runCli(['inspect', dir]);
  assert.equal(several.code, 2);
  assert.match(several.stderr, /error: .* holds pickles of 2 name prefixes \(network-snapshot, phema\)/);
  assert.match(several.stderr, /--prefix network-snapshot/);
  const picked = await runCli(['inspect', dir, '--prefix', 'network-snapshot', '--json']);
  assert.equal(picked.code, 0, picked.stderr);
  assert.equal(JSON.parse(picked.stdout).snapshots, 4);
  writeFileSync(join(dir, 'network-snapshot-0000099-0.050.safetensors'), '');
  const mixed = await runCli(['inspect', dir, '--prefix', 'network-snapshot']);
  assert.equal(mixed.code, 1);
  assert.match(mixed.stderr, /error: .* mixes EDM2 pickles and other snapshots: .*network-snapshot-0000004-0\.050\.pkl and .*network-snapshot-0000099-0\.050\.safetensors/);
  const safetensorsIn = await runCli(['reconstruct', join(REPO_FIXTURES, 'snapshots-f16'), '--sigma-rel', '0.08', '--out', join(dir, 'x.pkl')]);
  assert.equal(safetensorsIn.code, 2);
  assert.match(safetensorsIn.stderr, /error: .*x\.pkl: a \.pkl output is an EDM2 pickle, written from EDM2 pickle snapshots only/);
});

const REPO_FIXTURES = join(EDM2_FIXTURES, '..');

test('inspect lists the pickle\'s other keys and the persistent classes it would have run', async () => {
  const result = await runCli(['inspect', EDM2_FIXTURES]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /other keys: encoder \(persistent object of class StandardRGBEncoder\), dataset_kwargs \(dict with 3 entries\), loss_fn \(persistent object of class EDM2Loss\)/);
  assert.match(result.stdout, /persistent classes \(source stored in the file, never run\):.*Precond/s);
  assert.match(result.stdout, /MPFourier/);
});

test('convert reads an EDM2 pickle, taking profile and time from its name', async (t) => {
  const dir = makeTempDir(t);
  const out = join(dir, 'one.safetensors');
  const result = await runCli(['convert', join(EDM2_FIXTURES, 'phema-0000049-0.050.pkl'), out]);
  assert.equal(result.code, 0, result.stderr);
  const source = await openTensorFile(out);
  assert.equal(source.metadata.ema_sigma_rel, '0.05');
  assert.equal(source.metadata.ema_time, '49152');
  assert.equal(source.tensors.length, 63);
  await source.close();
});

test('buffers are the last used snapshot\'s, not blended (as the official tool copies them)', async (t) => {
  const { writeEdm2Pickle } = await import('../fixtures/edm2-pickle-builder.js');
  const dir = makeTempDir(t);
  const half = (value: number): [number, number] => { const b = new Uint8Array(2); new DataView(b.buffer).setUint16(0, toHalfBits(value), true); return [b[0], b[1]]; };
  // Buffers that change over training: a blend would mix them, a copy keeps one snapshot's exactly.
  const tensors = (kimg: number, std: number) => [
    { name: 'net.weight', dtype: 'F16' as const, shape: [4], kind: 'parameter' as const, fill: fillWith(half(kimg * std)) },
    { name: 'net.fourier.phases', dtype: 'F16' as const, shape: [3], kind: 'buffer' as const, fill: fillWith(half(kimg + std)) },
  ];
  for (const kimg of [4, 8, 12]) for (const std of [0.05, 0.1]) {
    await writeEdm2Pickle(join(dir, `network-snapshot-${String(kimg).padStart(7, '0')}-${std.toFixed(3)}.pkl`), tensors(kimg, std));
  }
  const out = join(dir, 'out');
  const result = await runCli(['reconstruct', dir, '--sigma-rel', '0.07', '--time', '8192', '--out-dir', out]);
  assert.equal(result.code, 0, result.stderr);
  const source = await openTensorFile(join(out, 'phema-0000008-0.070.pkl'));
  const phases = await readAll(source, 'net.fourier.phases');
  await source.close();
  // The last snapshot used at time 8192 is kimg 8, std 0.100 (sorted by time, then widest profile last).
  assert.deepEqual([...phases.values], [8.1, 8.1, 8.1].map((v) => fromHalfBits(toHalfBits(v))));
});

function fillWith(pair: [number, number]): (offset: number, target: Uint8Array) => void {
  return (offset, target) => { for (let i = 0; i < target.byteLength; i++) target[i] = pair[(offset + i) % 2]; };
}

function toHalfBits(value: number): number {
  const f = new Float32Array([value]);
  const bits = new Uint32Array(f.buffer)[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  const mantissa = bits & 0x7fffff;
  const rounded = (mantissa >>> 13) + ((mantissa & 0x1fff) > 0x1000 || ((mantissa & 0x1fff) === 0x1000 && (mantissa >>> 13) & 1) ? 1 : 0);
  return sign | ((exponent << 10) + rounded);
}

function fromHalfBits(bits: number): number {
  const exponent = (bits >>> 10) & 0x1f;
  return (bits & 0x8000 ? -1 : 1) * 2 ** (exponent - 15) * (1 + (bits & 0x3ff) / 1024);
}

test('sweep writes EDM2 pickles for a pickle folder and hands them to --eval-cmd', async (t) => {
  const dir = makeTempDir(t);
  const result = await runCli(['sweep', EDM2_FIXTURES, '--sigma-rel', '0.06,0.08', '--out-dir', dir, '--keep', 'all', '--json',
    '--eval-cmd', `node -e "process.stdout.write(String(require('fs').statSync(process.argv[1]).size))" {file}`]);
  assert.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout);
  assert.deepEqual(report.targets.map((r: { checkpoint: string }) => r.checkpoint.split('/').pop()).sort(), ['phema-0000049-0.060.pkl', 'phema-0000049-0.080.pkl']);
  for (const target of report.targets) {
    assert.equal(target.metric, readFileSync(target.checkpoint).byteLength, 'the command got the pickle');
    const source = await openTensorFile(target.checkpoint);
    assert.equal(source.tensors.length, 63);
    await source.close();
  }
});
