/**
 * On resume, a checkpoint that an earlier run already reconstructed (complete: our writers only
 * ever rename finished files into place) is evaluated as it is rather than rebuilt, provided it is
 * the same target: its metadata says so (safetensors), or, for EDM2 pickles, which carry no
 * metadata, its name does (`phema-<kimg>-<std>.pkl` never rounds std into another target's name;
 * other kinds keep ema-synth's name, which spells the target and time out).
 */
import { basename } from 'node:path';
import { openEdm2Pickle } from '../pytorch/edm2-pickle-source.js';
import type { TargetSummary } from '../reconstruct/plan.js';
import { profileMetadata } from '../reconstruct/target-resolve.js';
import { openSafetensors } from '../safetensors/reader.js';
import { roundSigmaRel } from './sigma-rel-key.js';

export async function isReusableCheckpoint(path: string, summary: Pick<TargetSummary, 'kind' | 'sigmaRel' | 'time' | 'resolved'>): Promise<boolean> {
  try {
    if (path.toLowerCase().endsWith('.pkl')) return await isReusablePickle(path, summary);
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

async function isReusablePickle(path: string, summary: Pick<TargetSummary, 'kind' | 'sigmaRel' | 'time'>): Promise<boolean> {
  const pickle = await openEdm2Pickle(path);
  await pickle.close();
  if (summary.kind !== 'power') return true;
  const [, kimg, std] = /-(\d+)-(\d+\.\d+)\.pkl$/i.exec(basename(path)) ?? [];
  return Number(kimg) === Math.floor(summary.time / 1000) && roundSigmaRel(Number(std)) === roundSigmaRel(summary.sigmaRel);
}
