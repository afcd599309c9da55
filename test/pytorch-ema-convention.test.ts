import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InputFileError } from '../src/errors.js';
import { gammaToSigmaRel, sigmaRelToGamma } from '../src/phema/profile.js';
import { openPytorchCheckpoint } from '../src/pytorch/checkpoint-source.js';
import {
  describeEmaPytorchSnapshot, isEmaPytorchBookkeepingTensor, parseEmaPytorchFileName, profileForIndex, snapshotTimeForStep,
} from '../src/pytorch/ema-pytorch-convention.js';
import { emaPytorchInnerProduct, emaPytorchWeights } from '../src/pytorch/ema-pytorch-match.js';
import { describeSparseUpdates, emaPytorchRealisedWeights, realisedSigmaRel } from '../src/pytorch/ema-pytorch-sparse.js';
import { decodeFloats } from '../src/safetensors/dtype-convert.js';

// Truth: fixtures/pytorch/ema-pytorch-expected.json, computed in PyTorch by a re-implementation of
// ema-pytorch's KarrasEMA/PostHocEMA (fixtures/pytorch/make_ema_pytorch_fixtures.py): its lerp
// sequence, torch.linalg.solve on float32 gammas, float32 accumulation of the float16 checkpoints.
const dir = fileURLToPath(new URL('../fixtures/pytorch/', import.meta.url));
const truth = JSON.parse(readFileSync(`${dir}ema-pytorch-expected.json`, 'utf8')) as {
  sigma_rels: number[];
  gammas: number[];
  synthesized: {
    sigma_rel: number; gamma: number; step: number; files: string[]; times: number[];
    weights: number[]; tensors: Record<string, number[]>;
  }[];
  realised: { gamma: number; update_every: number; steps: number; weights: number[] }[];
};

test('parses <profile index>.<step>.pt and nothing else', () => {
  assert.deepEqual(parseEmaPytorchFileName('0.2.pt'), { profileIndex: 0, step: 2 });
  assert.deepEqual(parseEmaPytorchFileName('/ckpt/post-hoc-ema-checkpoints/12.100000.pt'), { profileIndex: 12, step: 100000 });
  for (const name of ['a.2.pt', '0.2.pth', '0.2.3.pt', '0..pt', '0.2.safetensors', '-1.2.pt']) {
    assert.equal(parseEmaPytorchFileName(name), undefined, name);
  }
});

test('maps a profile index to the sigma_rel or gamma list the training used', () => {
  const bySigma = profileForIndex(1, { kind: 'sigma_rel', values: [0.05, 0.1] }, '1.2.pt');
  assert.equal(bySigma.sigmaRel, 0.1);
  assert.ok(Math.abs(bySigma.gamma - 6.94) < 0.01); // MATH.md: sigma_rel 0.10 <-> gamma about 6.94
  const byGamma = profileForIndex(0, { kind: 'gamma', values: [16.97, 6.94] }, '0.2.pt');
  assert.equal(byGamma.gamma, 16.97);
  assert.ok(Math.abs(byGamma.sigmaRel - 0.05) < 1e-4);
  assert.throws(
    () => profileForIndex(2, { kind: 'sigma_rel', values: [0.05, 0.28] }, '2.1000.pt'),
    (error: unknown) => error instanceof InputFileError &&
      /2\.1000\.pt has profile index 2, but --profiles lists only 2 value\(s\): 0\.05,0\.28/.test(error.message),
  );
});

test('describes an ema-pytorch file for discovery: profile from the list, time by convention', () => {
  const profiles = { kind: 'sigma_rel', values: [0.05, 0.28] } as const;
  const exact = describeEmaPytorchSnapshot('ckpts/1.1000.pt', profiles, 'exact')!;
  assert.deepEqual([exact.profileIndex, exact.step, exact.sigmaRel, exact.time, exact.timeUnit], [1, 1000, 0.28, 1001, 'step']);
  assert.equal(exact.gamma, sigmaRelToGamma(0.28));
  assert.equal(describeEmaPytorchSnapshot('1.1000.pt', profiles, 'ema-pytorch')!.time, 1000);
  assert.equal(describeEmaPytorchSnapshot('model.pt', profiles, 'exact'), undefined);
  assert.throws(() => describeEmaPytorchSnapshot('5.10.pt', profiles, 'exact'), /5\.10\.pt has profile index 5/);
});

test('with update_every 1, a snapshot labelled n is exactly the power profile at time n + 1', () => {
  // Closed form: call j's weight is the profile's mass on (j, j+1] at t = n + 1 (call 1: [0, 2]).
  const run = truth.realised.find((r) => r.update_every === 1)!;
  const n = run.steps;
  const g = run.gamma;
  const t = snapshotTimeForStep(n, 'exact');
  assert.equal(t, n + 1);
  assert.equal(snapshotTimeForStep(n, 'ema-pytorch'), n);
  run.weights.forEach((w, i) => {
    const j = i + 1;
    const mass = ((j + 1) ** (g + 1) - (j === 1 ? 0 : j ** (g + 1))) / t ** (g + 1);
    assert.ok(Math.abs(w - mass) <= 1e-12, `call ${j}: ${w} vs ${mass}`);
  });
});

test('realised weights of sparse updates match a replay of KarrasEMA.update', () => {
  for (const run of truth.realised) {
    const ours = emaPytorchRealisedWeights(run.gamma, run.update_every, run.steps);
    assert.equal(ours.length, run.weights.length);
    run.weights.forEach((w, i) => assert.ok(Math.abs(ours[i] - w) <= 1e-12, `k=${run.update_every} step ${i + 1}`));
  }
});

test('nominal sigma_rel 0.10 updated every 10 steps realises about 0.30 (the issue measured this)', () => {
  const sparse = truth.realised.find((r) => r.update_every === 10)!;
  const realised = realisedSigmaRel(sparse.weights);
  assert.ok(Math.abs(realised - 0.296) < 0.001, String(realised));
  // Second method: with update_every 1 and many steps the discrete profile tends to the nominal width.
  const gamma = sigmaRelToGamma(0.1);
  assert.ok(Math.abs(realisedSigmaRel(emaPytorchRealisedWeights(gamma, 1, 20000)) - 0.1) < 2e-4);
});

test('the sparse-update report warns with nominal and realised widths, and not for update_every 1', () => {
  const gammas = [sigmaRelToGamma(0.05), sigmaRelToGamma(0.1)];
  const report = describeSparseUpdates([1000, 2000, 3000, 1000, 2000, 3000], gammas, 100);
  assert.equal(report.checkpointEvery, 1000);
  // Replay check: the first update copies the weights and later betas barely move the average, so
  // most weight stays on step 1: prod over updates l = 1..29 of (s_l / (s_l + 1))^(gamma + 1), s_l = 100 l + 1.
  let onFirst = 1;
  for (let l = 1; l < 30; l++) onFirst *= ((100 * l + 1) / (100 * l + 2)) ** (gammas[1] + 1);
  const replayed = emaPytorchRealisedWeights(gammas[1], 100, 3000);
  assert.ok(Math.abs(replayed[0] - onFirst) <= 1e-12, `${replayed[0]} vs ${onFirst}`);
  assert.ok(onFirst > 0.7 && report.profiles[1].earlyWeight >= onFirst, `${report.profiles[1].earlyWeight} vs ${onFirst}`);
  assert.ok(report.profiles[1].realisedSigmaRel > 0.15, String(report.profiles[1].realisedSigmaRel));
  assert.match(report.warning ?? '', /update_every=100 the profiles at step 3000 are not the nominal ones \(sigma_rel 0\.050 -> 0\.\d+, 0\.100 -> 0\.\d+; weight on the first 10% of training: \d+%, \d+%\)/);
  assert.match(report.warning ?? '', /last update before step 3000 ran at step 2901/);
  const exact = describeSparseUpdates([1000, 2000], gammas, 1);
  assert.equal(exact.warning, undefined);
  assert.ok(Math.abs(exact.profiles[0].realisedSigmaRel - gammaToSigmaRel(gammas[0])) < 2e-3);
});

test('--match ema-pytorch coefficients equal synthesize_ema_model\'s (float32 gammas, no normalisation)', () => {
  for (const case_ of truth.synthesized) {
    const snapshots = case_.files.map((file, i) => {
      const parsed = parseEmaPytorchFileName(file)!;
      assert.equal(parsed.step, case_.times[i]);
      return { step: parsed.step, gamma: truth.gammas[parsed.profileIndex] };
    });
    const ours = emaPytorchWeights(snapshots, { step: case_.step, gamma: case_.gamma });
    const scale = Math.max(...case_.weights.map(Math.abs));
    ours.forEach((w, i) => assert.ok(Math.abs(w - case_.weights[i]) <= 1e-9 * scale, `${case_.files[i]}: ${w} vs ${case_.weights[i]}`));
    // Not normalised: these weights do not sum to 1.
    assert.ok(Math.abs(ours.reduce((a, b) => a + b, 0) - 1) > 0.01);
  }
  assert.throws(() => emaPytorchWeights([{ step: 2, gamma: 1 }], { step: 3, gamma: 1 }), /only up to the largest step 2/);
  // Symmetry of the closed form (MATH.md): <p_a, p_b> = <p_b, p_a> up to rounding.
  const ab = emaPytorchInnerProduct(3, 2.5, 7, 6.94);
  assert.ok(Math.abs(ab - emaPytorchInnerProduct(7, 6.94, 3, 2.5)) <= 1e-15 * ab);
});

/**
 * ema-pytorch's accumulation of one tensor, replayed: float32 products and sums in the order given
 * (a Python float weight times a float32 tensor is rounded to float32 too). Checks that the fixture's
 * tensors are what these weights give under ema-pytorch's arithmetic.
 */
function emaPytorchAccumulate(weights: readonly number[], values: readonly ArrayLike<number>[]): Float32Array {
  const out = new Float32Array(values[0]?.length ?? 0);
  for (let i = 0; i < weights.length; i++) {
    const w = Math.fround(weights[i]);
    for (let k = 0; k < out.length; k++) out[k] = Math.fround(out[k] + Math.fround(values[i][k] * w));
  }
  return out;
}

test('replaying the float32 accumulation over the float16 checkpoints gives synthesize_ema_model\'s tensors', async () => {
  const files = readdirSync(`${dir}ema-pytorch`).filter((f) => parseEmaPytorchFileName(f)).sort();
  const contents = new Map<string, Map<string, Float64Array>>();
  for (const file of files) {
    const source = await openPytorchCheckpoint(`${dir}ema-pytorch/${file}`);
    const tensors = new Map<string, Float64Array>();
    for (const t of source.tensors) {
      assert.equal(t.dtype, 'F16', `${file} ${t.name}`); // PostHocEMA casts every entry, counters too
      const bytes = new Uint8Array(t.byteLength);
      await source.read(t.name, 0, bytes);
      const values = new Float64Array(t.byteLength / 2);
      decodeFloats('F16', bytes, values);
      tensors.set(t.name, values);
    }
    await source.close();
    assert.equal(tensors.get('step')![0], parseEmaPytorchFileName(file)!.step);
    assert.ok(isEmaPytorchBookkeepingTensor('step') && isEmaPytorchBookkeepingTensor('initted'));
    contents.set(file, tensors);
  }
  for (const case_ of truth.synthesized) {
    assert.deepEqual(files, case_.files);
    const weights = emaPytorchWeights(
      files.map((f) => ({ step: parseEmaPytorchFileName(f)!.step, gamma: truth.gammas[parseEmaPytorchFileName(f)!.profileIndex] })),
      { step: case_.step, gamma: case_.gamma },
    );
    for (const [name, want] of Object.entries(case_.tensors)) {
      assert.ok(!isEmaPytorchBookkeepingTensor(name));
      const got = emaPytorchAccumulate(weights, files.map((f) => contents.get(f)!.get(name)!));
      // Float32 results; allow one float32 ulp for the last-bit differences of the float64 solve.
      want.forEach((w, k) => assert.ok(Math.abs(got[k] - w) <= 2 ** -23 * Math.max(Math.abs(w), 2 ** -10), `${name}[${k}]: ${got[k]} vs ${w}`));
    }
  }
});
