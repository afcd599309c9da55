/**
 * Writes one checkpoint per target in a single pass over the snapshots. Outputs are checked before
 * any work (existing files, inputs named as outputs), written to temporary files, and committed
 * only when every target succeeded; any failure removes them all.
 */
import { realpath } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { checkOutputAvailable } from '../io/atomic-output.js';
import { removeStaleTempFiles } from '../io/temp-registry.js';
import type { OutputWriter } from '../io/output-writer.js';
import { blendSnapshots } from '../blend/blend.js';
import { planTensors, type OutputDTypeChoice } from '../blend/blend-plan.js';
import { DTYPE_BYTES } from '../tensors/tensor-source.js';
import { checkOutputFormat, createOutputWriter } from './output-format.js';
import { outputMetadata } from './output-metadata.js';
import type { ReconstructionPlan } from './plan.js';

export interface WriteOptions {
  readonly dtype: OutputDTypeChoice;
  readonly force: boolean;
  readonly allowNonFinite?: boolean;
  readonly chunkElements?: number;
  /** Most threads blending (default: one per core, at most 16); fewer when the job is small. */
  readonly threads?: number;
  readonly onProgress?: (bytesRead: number) => void;
  readonly signal?: AbortSignal;
}

/**
 * Refuses outputs that exist (without force), repeat, or would overwrite a snapshot. Temporary
 * files that killed runs (SIGKILL, power loss) left in the output folders are removed on the way.
 */
export async function checkOutputs(plan: ReconstructionPlan, paths: readonly string[], force: boolean): Promise<void> {
  const inputs = new Set(await Promise.all(plan.used.map((s) => realpath(s.path).catch(() => resolve(s.path)))));
  const seen = new Set<string>();
  for (const path of paths) {
    const resolved = await realpath(path).catch(() => resolve(path));
    if (inputs.has(resolved)) throw new UsageError(`${path}: the output would replace one of the snapshots it is made from`, 'choose another output path');
    if (seen.has(resolved)) throw new UsageError(`${path}: two targets would write the same output file`);
    seen.add(resolved);
    checkOutputFormat(path, plan.template.source);
    await checkOutputAvailable(path, force);
  }
  for (const folder of new Set(paths.map((path) => dirname(resolve(path))))) await removeStaleTempFiles(folder).catch(() => undefined);
}

/** Snapshot bytes one pass reads: every float tensor of every snapshot used, counters once. */
export function passBytes(plan: ReconstructionPlan): number {
  const tensors = planTensors(plan.copyFrom.source.tensors, 'same', plan.copiedTensors);
  return tensors.reduce((sum, t) => sum + t.elements * DTYPE_BYTES[t.inputDType] * (t.mode === 'blend' ? plan.used.length : 1), 0);
}

export async function writeReconstructions(plan: ReconstructionPlan, paths: readonly string[], options: WriteOptions): Promise<{ bytesRead: number }> {
  if (paths.length !== plan.summaries.length) throw new RangeError(`${paths.length} output paths for ${plan.summaries.length} targets`);
  const latest = plan.copyFrom;
  const tensorPlan = planTensors(latest.source.tensors, options.dtype, plan.copiedTensors);
  const tensors = tensorPlan.map((t) => ({ name: t.name, dtype: t.outputDType, shape: t.shape }));
  const writers: OutputWriter[] = [];
  try {
    for (const [j, path] of paths.entries()) {
      const metadata = outputMetadata(plan.summaries[j], plan.timeUnit, latest);
      // A pickle output is the first snapshot used with the network's tensors replaced, as the official tool writes it.
      writers.push(await createOutputWriter(path, { tensors, metadata, template: plan.template.source }, { force: options.force }));
    }
    const result = await blendSnapshots({
      sources: plan.used.map((s) => s.source),
      weights: plan.summaries.map((s) => s.coefficients),
      plan: tensorPlan,
      copySource: latest.source,
      sinks: writers,
      chunkElements: options.chunkElements,
      maxThreads: options.threads,
      allowNonFinite: options.allowNonFinite,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    // Concurrently: each commit waits on an fsync, and the disk serves them together.
    await Promise.all(writers.map((writer) => writer.commit()));
    return result;
  } finally {
    // abort() after commit() is a no-op; after a failure it removes the temporary files.
    await Promise.all(writers.map((w) => w.abort().catch(() => undefined)));
    await Promise.all(plan.used.map((s) => s.source.close()));
  }
}
