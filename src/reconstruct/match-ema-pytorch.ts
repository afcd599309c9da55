/**
 * `--match ema-pytorch`: the coefficients ema-pytorch's synthesize_ema_model applies (every
 * snapshot, float32 gammas, no normalisation; see src/pytorch/ema-pytorch-match.ts), wrapped as a
 * Solution so the rest of the pipeline (blend, report) is shared. The diagnostics are ours: the
 * fit error of those coefficients against the exact target profile, computed with the snapshots'
 * profiles as `basisOf` gives them (nominal, or realised when the run's sparse updates are known).
 */
import { NumericalError } from '../errors.js';
import { conditionNumberOf } from '../phema/condition.js';
import { fitError } from '../phema/fit-error.js';
import type { SnapshotBasis } from '../phema/snapshot-basis.js';
import type { Solution } from '../phema/solve.js';
import { targetSelfProduct } from '../phema/target-profile.js';
import { emaPytorchWeights } from '../pytorch/ema-pytorch-match.js';
import type { Snapshot } from '../snapshots/discover.js';

export function matchEmaPytorch(snapshots: readonly Snapshot[], targetGammas: readonly number[], time: number, basisOf: (used: readonly Snapshot[]) => SnapshotBasis): { solution: Solution } {
  const inputs = snapshots.map((s) => ({ step: s.time, gamma: s.gamma }));
  const columns = targetGammas.map((gamma) => {
    try {
      return emaPytorchWeights(inputs, { step: time, gamma });
    } catch (error) {
      throw new NumericalError(`--match ema-pytorch: ${(error as Error).message}`);
    }
  });
  const basis = basisOf(snapshots);
  const targets = targetGammas.map((gamma) => ({ kind: 'power' as const, gamma }));
  const gram = basis.gram();
  const cross = basis.cross(targets);
  return {
    solution: {
      coefficients: snapshots.map((_, i) => columns.map((column) => column[i])),
      rawColumnSums: columns.map((column) => column.reduce((a, b) => a + b, 0)),
      fitErrors: columns.map((column, j) => fitError(gram, column, cross.map((row) => row[j]), targetSelfProduct(targets[j]))),
      sumAbsCoefficients: columns.map((column) => column.reduce((a, b) => a + Math.abs(b), 0)),
      condition: conditionNumberOf(gram, snapshots.length),
      method: 'lu',
    },
  };
}
