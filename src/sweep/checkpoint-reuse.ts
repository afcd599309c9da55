/**
 * On resume, a checkpoint that an earlier run already reconstructed (complete: our writer only
 * ever renames finished files into place) is evaluated as it is rather than rebuilt, provided its
 * metadata says it is the same target.
 */
import { openSafetensors } from '../safetensors/reader.js';
import { roundSigmaRel } from './sigma-rel-key.js';

export async function isReusableCheckpoint(path: string, sigmaRel: number, time: number): Promise<boolean> {
  try {
    const file = await openSafetensors(path);
    await file.close();
    const metadata = file.metadata;
    return roundSigmaRel(Number(metadata.ema_sigma_rel)) === roundSigmaRel(sigmaRel) && Number(metadata.ema_time) === time;
  } catch {
    return false;
  }
}
