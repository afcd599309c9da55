/** The sweep's options, checked once by the command and passed to runSweep as one typed object. */
import type { OutputDTypeChoice } from '../blend/blend-plan.js';
import type { Convention } from '../reconstruct/plan.js';
import type { Target } from '../reconstruct/targets.js';
import type { DiscoveryOptions } from '../snapshots/discover.js';
import type { EvalEvent } from './eval-runner.js';
import type { KeepPolicy } from './keep-policy.js';
import type { TimeSpec } from './time-grid.js';

/** How each reconstructed checkpoint is scored: not at all, a user command, or the built-in loss. */
export type Evaluation =
  | { readonly kind: 'none' }
  | { readonly kind: 'command'; readonly template: string }
  /** The validation denoising loss of `ema-synth evaluate`, for runs written by `ema-synth train`. */
  | { readonly kind: 'builtin' };

export interface SweepSettings {
  readonly dir: string;
  readonly targets: readonly Target[];
  /** Training times: each (length, time) pair is one target ("cell"). */
  readonly times: TimeSpec;
  readonly evaluation: Evaluation;
  /** Where checkpoints and sweep.jsonl go; undefined only for a fit-error-only sweep. */
  readonly outDir?: string;
  readonly keep: KeepPolicy;
  readonly refine: number;
  /** At most this many reconstructed checkpoints on disk at once (plus the best so far); undefined: no bound. */
  readonly maxCheckpoints?: number;
  /** Evaluations per checkpoint ({seed} = 0..R-1); the metric is their mean. */
  readonly repeat: number;
  /** After the first two repeats, a candidate worse than the best by more than this many standard errors gets no more. */
  readonly pruneMargin?: number;
  /** Rank by the number after `NAME=` / `NAME:` in the command's output. */
  readonly metricName?: string;
  /** Failed evaluations are run again up to this many times. */
  readonly retries: number;
  readonly maximize: boolean;
  readonly jobs: number;
  readonly dtype: OutputDTypeChoice;
  readonly force: boolean;
  readonly allowNonFinite: boolean;
  /** Most threads blending (undefined: the engine's default). */
  readonly threads?: number;
  readonly discovery: DiscoveryOptions;
  readonly convention: Convention;
  /** ema-pytorch folders: --update-every as given (above 1: realised profiles; not given: a warning). */
  readonly givenUpdateEvery: number | undefined;
}

export type SweepEvent =
  | { readonly type: 'note'; readonly message: string }
  | { readonly type: 'pass-start'; readonly targets: number; readonly totalBytes: number; readonly phase: 'grid' | 'refine'; readonly group?: { readonly index: number; readonly count: number } }
  | { readonly type: 'pass-progress'; readonly bytesRead: number }
  | { readonly type: 'pass-end'; readonly bytesRead: number }
  | { readonly type: 'eval'; readonly event: EvalEvent }
  | { readonly type: 'refine'; readonly step: number; readonly sigmaRel: number; readonly method: string; readonly time?: number };

/** One reconstruction pass: how many targets it served and how many snapshot bytes it read. */
export interface PassRecord {
  readonly phase: 'grid' | 'refine';
  readonly targets: number;
  readonly bytes_read: number;
}
