/**
 * For ema-pytorch folders: how far its sparse updates (update_every > 1, which the files do not
 * record) pull the real profiles from the nominal ones. Undefined for other folders or update_every 1.
 */
import { describeSparseUpdates } from '../pytorch/ema-pytorch-sparse.js';
import type { TimeConvention } from '../pytorch/ema-pytorch-convention.js';
import type { SnapshotSet } from './discover.js';

export function sparseUpdateWarning(set: SnapshotSet, convention: TimeConvention, updateEvery: number): string | undefined {
  if (!set.emaPytorch) return undefined;
  // Under the exact convention discovery placed <i>.<n>.pt at time n + 1; the package's steps are n.
  const steps = set.snapshots.map((s) => (convention === 'exact' ? s.time - 1 : s.time));
  const gammas = [...new Set(set.snapshots.map((s) => s.gamma))];
  const report = describeSparseUpdates(steps, gammas, updateEvery);
  return report.warning === undefined ? undefined : `${report.warning} (pass --update-every 1 if it did)`;
}
