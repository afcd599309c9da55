/**
 * `--match ema-pytorch`: the coefficients ema-pytorch's synthesize_ema_model applies (every
 * snapshot, float32 gammas, no normalisation; see src/pytorch/ema-pytorch-match.ts), wrapped as a
 * Solution so the rest of the pipeline (blend, report) is shared. The diagnostics are ours: the
 * fit error of those coefficients against the exact target profile.
 */
import { NumericalError } from '../errors.js';
import { conditionNumberOf } from '../phema/condition.js';
import { fitError } from '../phema/fit-error.js';
import { crossMatrix, gramMatrix, profileSelfInnerProduct } from '../phema/inner-product.js';
import type { Solution } from '../phema/solve.js';
import { emaPytorchWeights } from '../pytorch/ema-pytorch-match.js';
import type { Snapshot } from '../snapshots/discover.js';
import type { Target } from './targets.js';

export function matchEmaPytorch(snapshots: readonly Snapshot[], targets: readonly Target[], time: number): { solution: Solution } {
  const inputs = snapshots.map((s) => ({ step: s.time, gamma: s.gamma }));
  const columns = targets.map((target) => {
    try {
      return emaPytorchWeights(inputs, { step: time, gamma: target.gamma });
    } catch (error) {
      throw new NumericalError(`--match ema-pytorch: ${(error as Error).message}`);
    }
  });
  const profiles = snapshots.map((s) => ({ time: s.time / time, gamma: s.gamma }));
  const gram = gramMatrix(profiles);
  const cross = crossMatrix(profiles, targets.map((t) => ({ time: 1, gamma: t.gamma })));
  return {
    solution: {
      coefficients: snapshots.map((_, i) => columns.map((column) => column[i])),
      rawColumnSums: columns.map((column) => column.reduce((a, b) => a + b, 0)),
      fitErrors: columns.map((column, j) => fitError(gram, column, cross.map((row) => row[j]), profileSelfInnerProduct({ time: 1, gamma: targets[j].gamma }))),
      sumAbsCoefficients: columns.map((column) => column.reduce((a, b) => a + Math.abs(b), 0)),
      condition: conditionNumberOf(gram, profiles.length),
      method: 'lu',
    },
  };
}
