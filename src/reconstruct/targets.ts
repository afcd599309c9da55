/**
 * Reconstruction targets from the command line: `--sigma-rel LIST` or `--gamma LIST`, checked once.
 */
import { UsageError } from '../errors.js';
import { gammaToSigmaRel, MAX_SIGMA_REL, sigmaRelToGamma } from '../phema/profile.js';
import { parseValueList } from '../phema/value-list.js';

export interface Target {
  readonly sigmaRel: number;
  readonly gamma: number;
  /** How the user named it, for file names and reports. */
  readonly givenAs: 'sigma_rel' | 'gamma';
}

export function parseTargets(options: { sigmaRel?: string; gamma?: string }): Target[] {
  if (options.sigmaRel !== undefined && options.gamma !== undefined) {
    throw new UsageError('give --sigma-rel or --gamma, not both');
  }
  if (options.sigmaRel === undefined && options.gamma === undefined) {
    throw new UsageError('no target: give --sigma-rel LIST (e.g. 0.08 or 0.05,0.06,...,0.15) or --gamma LIST');
  }
  if (options.sigmaRel !== undefined) {
    return parseList('--sigma-rel', options.sigmaRel).map((sigmaRel) => {
      if (!(sigmaRel > 0 && sigmaRel < MAX_SIGMA_REL)) {
        const why = sigmaRel > 0 ? 'a power-function EMA cannot be that wide' : 'an EMA length must be positive';
        throw new UsageError(`--sigma-rel ${sigmaRel} is outside (0, ${MAX_SIGMA_REL.toFixed(6)}): ${why}`,
          'sigma_rel is the EMA length relative to training time; the paper uses 0.05 to 0.25');
      }
      return { sigmaRel, gamma: sigmaRelToGamma(sigmaRel), givenAs: 'sigma_rel' as const };
    });
  }
  return parseList('--gamma', options.gamma!).map((gamma) => {
    if (!(gamma > 0) || !Number.isFinite(gamma)) throw new UsageError(`--gamma ${gamma} must be a positive number`);
    return { sigmaRel: gammaToSigmaRel(gamma), gamma, givenAs: 'gamma' as const };
  });
}

function parseList(flag: string, text: string): number[] {
  try {
    return parseValueList(text);
  } catch (error) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: ${(error as Error).message}`,
      'a list is comma-separated; a range is first,second,...,last (e.g. 0.05,0.06,...,0.15)');
  }
}

/** The target's short label: the number the user gave, in its shortest exact form. */
export function targetLabel(target: Target): string {
  return target.givenAs === 'sigma_rel' ? `sigma_rel ${target.sigmaRel}` : `gamma ${target.gamma}`;
}
