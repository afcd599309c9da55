/**
 * Median time of one training step as the training loop (src/train/loop.ts) takes it: forced weight
 * normalisation, forward, backward, the Adam update and both EMA updates, per backend. MPUNET.md
 * section 9's bar: PyTorch CPU takes about 165 ms for small16 at batch 32 including Adam (the EMA
 * updates add about 2 ms there). The pure-JS cpu backend is far slower, so it runs the tiny config by default.
 * 'wasm-parallel' splits the batch between this thread and worker threads (parallel-gradients.ts).
 *
 *   node --import tsx test/bench/train-step.ts [--backends wasm,wasm-parallel,cpu] [--repeats 5] [--config small16] [--batch 32]
 * Environment: BENCH_TRAIN_BACKENDS, BENCH_TRAIN_REPEATS. Measure on an idle machine: the line
 * also prints the load average, and CPU time (this process, all threads) next to wall time.
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Adam } from '../../src/train/adam.js';
import { BackendName, selectBackend } from '../../src/train/backend.js';
import { EmaTracker } from '../../src/train/ema-tracker.js';
import { NETWORK_PRESETS, presetConfig } from '../../src/train/model/config.js';
import { stepFlops } from '../../src/train/model/flop-count.js';
import { createNetwork, forceNormalizeWeights, lossAndGradientArrays } from '../../src/train/model/network.js';
import { startParallelGradients } from '../../src/train/model/parallel-gradients.js';
import { benchTorchStep, findTorchPython } from './torch-step.js';

/** 'pytorch': the same step on PyTorch's CPU build (torch-step.py), where a Python with torch is found. */
export type BenchBackend = BackendName | 'wasm-parallel' | 'pytorch';

/** Every backend installed here: native TensorFlow first when present, PyTorch last. */
export async function installedBackends(): Promise<BenchBackend[]> {
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '1'; // TensorFlow's INFO banners, printed when it loads
  const has = (pkg: string): Promise<boolean> => import(pkg).then(() => true, () => false);
  return [
    ...(await has('@tensorflow/tfjs-node-gpu') ? ['tensorflow-gpu' as const] : []),
    ...(await has('@tensorflow/tfjs-node') ? ['tensorflow' as const] : []),
    'wasm', 'wasm-parallel', 'cpu',
    ...(findTorchPython() !== undefined ? ['pytorch' as const] : []),
  ];
}

export interface StepBenchResult {
  backend: string;
  config: string;
  batch: number;
  medianMs: number;
  minMs: number;
  /** Median CPU time of the whole process (all threads) per step. */
  cpuMs: number;
  repeats: number;
  /** Convolution, linear and attention FLOPs of one step (flop-count.ts), for GFLOP/s figures. */
  flops: number;
}

export interface StepBenchOptions {
  backends?: BenchBackend[];
  repeats?: number;
  /** Config per backend; default small16 everywhere except tiny on cpu. */
  config?: keyof typeof NETWORK_PRESETS;
  batch?: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

export async function benchTrainStep(backend: BenchBackend, configName: keyof typeof NETWORK_PRESETS,
  batch: number, repeats: number): Promise<StepBenchResult> {
  if (backend === 'pytorch') {
    const python = findTorchPython();
    if (python === undefined) throw new Error('no Python with torch (apt-get install python3-torch, or set PYTHON_TORCH)');
    const r = benchTorchStep(python, configName, batch, repeats);
    return { ...r, backend: `${r.backend} x${r.threads}`, flops: stepFlops(presetConfig(configName), batch).step };
  }
  const parallelWorkers = backend === 'wasm-parallel' ? Math.max(1, availableParallelism() - 1) : 0;
  const name = await selectBackend(backend === 'wasm-parallel' ? 'wasm' : backend);
  // Threads TensorFlow runs (one per core unless TF_NUM_INTRAOP_THREADS says otherwise).
  const native = name === 'tensorflow' ? ` x${process.env.TF_NUM_INTRAOP_THREADS ?? availableParallelism()}` : '';
  const config = presetConfig(configName);
  const parallel = parallelWorkers > 0 ? await startParallelGradients(config, 'wasm', parallelWorkers) : undefined;
  const net = createNetwork(config, 0);
  const adam = new Adam(net.params);
  const emas = new EmaTracker(net.params, [0.05, 0.1]);
  let nimg = 0;
  const r = config.resolution;
  const y = tf.randomNormal([batch, r, r, config.channels], 0, 0.5, 'float32', 1) as tf.Tensor4D;
  const noise = tf.randomNormal([batch, r, r, config.channels], 0, 1, 'float32', 2) as tf.Tensor4D;
  const sigma = tf.exp(tf.randomNormal([batch], -0.8, 1.6, 'float32', 3)) as tf.Tensor1D;
  const step = async (): Promise<void> => {
    forceNormalizeWeights(net);
    const { grads } = parallel
      ? await parallel.gradientArrays(net, y, sigma, noise)
      : lossAndGradientArrays(net, y, sigma, noise);
    // A small constant learning rate: the weights move as in training without diverging.
    adam.apply(net.params, grads, 1e-4);
    nimg += batch;
    emas.update(net.params, nimg, batch); // reads the new weights back, so every backend has finished the step
  };
  await step(); // warm-up: kernel compilation, buffer allocation
  const times: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    await step();
    const used = process.cpuUsage(c0);
    times.push(performance.now() - t0);
    cpu.push((used.user + used.system) / 1000);
  }
  await parallel?.close();
  tf.dispose([y, noise, sigma]);
  emas.dispose();
  adam.dispose();
  net.dispose();
  const label = parallel ? `${name} x${parallelWorkers + 1}` : `${name}${native}`;
  return {
    backend: label, config: configName, batch, medianMs: median(times), minMs: Math.min(...times), cpuMs: median(cpu), repeats,
    flops: stepFlops(config, batch).step,
  };
}

export async function runTrainStepBench(print: (line: string) => void, options: StepBenchOptions = {}): Promise<StepBenchResult[]> {
  const backends = options.backends ?? await installedBackends();
  const results: StepBenchResult[] = [];
  const shown = new Set<string>();
  for (const backend of backends) {
    const slow = backend === 'cpu';
    const configName = options.config ?? (slow ? 'tiny' : 'small16');
    const repeats = options.repeats ?? (slow ? 3 : 10);
    const batch = options.batch ?? 32;
    if (!shown.has(`${configName}/${batch}`)) {
      shown.add(`${configName}/${batch}`);
      const f = stepFlops(presetConfig(configName), batch);
      print(`train step  ${configName} batch ${batch}: ${(f.step / 1e9).toFixed(2)} GFLOP a step (forward products `
        + `${(f.forward / 1e9).toFixed(3)} GFLOP: 3x3 conv ${(f.conv3x3 / 1e9).toFixed(3)}, 1x1 ${(f.conv1x1 / 1e9).toFixed(3)}, `
        + `attention ${(f.attention / 1e9).toFixed(3)}; x3 for forward, input and weight gradients)`);
    }
    try {
      // Load before (other processes) and after (includes this benchmark's own threads).
      const loadBefore = loadavg()[0];
      const r = await benchTrainStep(backend, configName, batch, repeats);
      results.push(r);
      print(`train step  ${r.backend.padEnd(18)} ${r.config.padEnd(8)} batch ${String(r.batch).padEnd(3)} `
        + `median ${r.medianMs.toFixed(0).padStart(6)} ms  min ${r.minMs.toFixed(0).padStart(6)} ms  `
        + `cpu ${r.cpuMs.toFixed(0).padStart(6)} ms  ${(r.flops / r.minMs / 1e6).toFixed(1).padStart(5)} GFLOP/s at min  `
        + `(${r.repeats} repeats, load ${loadBefore.toFixed(1)} -> ${loadavg()[0].toFixed(1)})`);
    } catch (error) {
      print(`train step  ${backend.padEnd(10)} unavailable: ${(error as Error).message}`);
    }
  }
  const torch = results.filter((r) => r.backend.startsWith('pytorch'));
  for (const r of results.filter((x) => x.backend.startsWith('tensorflow'))) {
    for (const t of torch.filter((x) => x.config === r.config && x.batch === r.batch)) {
      print(`train step  ${r.backend} / ${t.backend}: median ${(r.medianMs / t.medianMs).toFixed(2)}x, min ${(r.minMs / t.minMs).toFixed(2)}x, `
        + `cpu ${(r.cpuMs / t.cpuMs).toFixed(2)}x (issue 14's target: median <= 1.5x)`);
    }
  }
  return results;
}

function argValue(flag: string): string | undefined {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const backends = (argValue('--backends') ?? process.env.BENCH_TRAIN_BACKENDS)?.split(',') as BenchBackend[] | undefined;
  const repeats = argValue('--repeats') ?? process.env.BENCH_TRAIN_REPEATS;
  await runTrainStepBench((line) => console.log(line), {
    backends,
    repeats: repeats === undefined ? undefined : Number(repeats),
    config: argValue('--config') as keyof typeof NETWORK_PRESETS | undefined,
    batch: argValue('--batch') === undefined ? undefined : Number(argValue('--batch')),
  });
}
