/**
 * On resume, a checkpoint that an earlier run already reconstructed (complete: our writer only
 * ever renames finished files into place) is evaluated as it is rather than rebuilt, provided its
 * metadata says it is the same target.
 */
import type { TargetSummary } from '../reconstruct/plan.js';
import { profileMetadata } from '../reconstruct/target-resolve.js';
import { openSafetensors } from '../safetensors/reader.js';
import { roundSigmaRel } from './sigma-rel-key.js';

export async function isReusableCheckpoint(path: string, summary: Pick<TargetSummary, 'kind' | 'sigmaRel' | 'time' | 'resolved'>): Promise<boolean> {
  try {
    const file = await openSafetensors(path);
    await file.close();
    const metadata = file.metadata;
    if (Number(metadata.ema_time) !== summary.time) return false;
    if (summary.kind === 'power') return (metadata.ema_profile ?? 'power') === 'power' && roundSigmaRel(Number(metadata.ema_sigma_rel)) === roundSigmaRel(summary.sigmaRel);
    // Other kinds: the same profile keys, each number to 6 significant digits.
    return Object.entries(profileMetadata(summary.resolved)).every(([key, value]) =>
      metadata[key] === value || roundSigmaRel(Number(metadata[key])) === roundSigmaRel(Number(value)));
  } catch {
    return false;
  }
}
