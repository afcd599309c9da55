/**
 * For ema-pytorch folders: how far its sparse updates (update_every > 1, which the files do not
 * record) pull the real profiles from the nominal ones. Only when --update-every was not given:
 * given as 1 there is nothing to warn about, and above 1 the solve uses the realised profiles.
 */
import { describeSparseUpdates } from '../pytorch/ema-pytorch-sparse.js';
import { EMA_PYTORCH_DEFAULT_UPDATE_EVERY, type TimeConvention } from '../pytorch/ema-pytorch-convention.js';
import type { SnapshotSet } from './discover.js';

export function sparseUpdateWarning(set: SnapshotSet, convention: TimeConvention, givenUpdateEvery: number | undefined): string | undefined {
  if (!set.emaPytorch || givenUpdateEvery !== undefined) return undefined;
  // Under the exact convention discovery placed <i>.<n>.pt at time n + 1; the package's steps are n.
  const steps = set.snapshots.map((s) => (convention === 'exact' ? s.time - 1 : s.time));
  const gammas = [...new Set(set.snapshots.map((s) => s.gamma))];
  const report = describeSparseUpdates(steps, gammas, EMA_PYTORCH_DEFAULT_UPDATE_EVERY);
  return report.warning === undefined ? undefined
    : `${report.warning} (pass --update-every K with the run's update_every to use the realised profiles, or --update-every 1 if it updated every step)`;
}
