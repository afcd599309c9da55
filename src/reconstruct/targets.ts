/**
 * Reconstruction targets from the command line, checked once: power-function EMAs (`--sigma-rel`,
 * `--gamma`), classic constant-beta EMAs (`--beta` with `--beta-every`, `--half-life`) and tail
 * windows (`--window`); kinds can be mixed. Lengths may be given in time units or as `5%` of the
 * target time, which is known only once the snapshots are found (see target-resolve.ts).
 */
import { UsageError } from '../errors.js';
import { gammaToSigmaRel, MAX_SIGMA_REL, sigmaRelToGamma } from '../phema/profile.js';
import { parseValueList } from '../phema/value-list.js';

/** A length in the snapshots' time unit, or a percentage of the target time. */
export interface Length {
  readonly value: number;
  readonly percent: boolean;
}

export type Target =
  | { readonly kind: 'power'; readonly sigmaRel: number; readonly gamma: number; readonly givenAs: 'sigma_rel' | 'gamma' }
  /** Decay beta per EMA update, one update every `betaEvery` time units (default: 1 step). */
  | { readonly kind: 'exponential'; readonly givenAs: 'beta'; readonly beta: number; readonly betaEvery?: number }
  | { readonly kind: 'exponential'; readonly givenAs: 'half_life'; readonly halfLife: Length }
  | { readonly kind: 'window'; readonly window: Length };

export type PowerTarget = Extract<Target, { kind: 'power' }>;

export interface TargetFlags {
  sigmaRel?: string;
  gamma?: string;
  beta?: string;
  betaEvery?: string;
  halfLife?: string;
  window?: string;
}

export function parseTargets(options: TargetFlags): Target[] {
  if (options.sigmaRel !== undefined && options.gamma !== undefined) {
    throw new UsageError('give --sigma-rel or --gamma, not both');
  }
  if (options.betaEvery !== undefined && options.beta === undefined) throw new UsageError('--beta-every applies to --beta targets: give --beta too');
  const targets: Target[] = [];
  if (options.sigmaRel !== undefined) {
    targets.push(...parseList('--sigma-rel', options.sigmaRel).map((sigmaRel) => {
      if (!(sigmaRel > 0 && sigmaRel < MAX_SIGMA_REL)) {
        const why = sigmaRel > 0 ? 'a power-function EMA cannot be that wide' : 'an EMA length must be positive';
        throw new UsageError(`--sigma-rel ${sigmaRel} is outside (0, ${MAX_SIGMA_REL.toFixed(6)}): ${why}`,
          'sigma_rel is the EMA length relative to training time; the paper uses 0.05 to 0.25');
      }
      return { kind: 'power', sigmaRel, gamma: sigmaRelToGamma(sigmaRel), givenAs: 'sigma_rel' } as const;
    }));
  }
  if (options.gamma !== undefined) {
    targets.push(...parseList('--gamma', options.gamma).map((gamma) => {
      if (!(gamma > 0) || !Number.isFinite(gamma)) throw new UsageError(`--gamma ${gamma} must be a positive number`);
      return { kind: 'power', sigmaRel: gammaToSigmaRel(gamma), gamma, givenAs: 'gamma' } as const;
    }));
  }
  if (options.beta !== undefined) {
    const betaEvery = options.betaEvery === undefined ? undefined : parsePositive('--beta-every', options.betaEvery);
    targets.push(...parseList('--beta', options.beta).map((beta) => {
      if (!(beta > 0 && beta < 1)) throw new UsageError(`--beta ${beta} must be between 0 and 1 (e.g. 0.9999)`, 'beta is the decay per EMA update: ema <- beta ema + (1 - beta) weights');
      return { kind: 'exponential', givenAs: 'beta', beta, betaEvery } as const;
    }));
  }
  if (options.halfLife !== undefined) {
    targets.push(...parseLengths('--half-life', options.halfLife).map((halfLife) => ({ kind: 'exponential', givenAs: 'half_life', halfLife }) as const));
  }
  if (options.window !== undefined) {
    targets.push(...parseLengths('--window', options.window).map((window) => {
      if (window.percent && window.value > 100) throw new UsageError(`--window ${window.value}% is more than the whole run (at most 100%)`);
      return { kind: 'window', window } as const;
    }));
  }
  if (targets.length === 0) {
    throw new UsageError('no target: give --sigma-rel LIST (e.g. 0.08 or 0.05,0.06,...,0.15), --gamma LIST, --beta LIST, --half-life LIST or --window LIST');
  }
  return targets;
}

function parseList(flag: string, text: string): number[] {
  try {
    return parseValueList(text);
  } catch (error) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: ${(error as Error).message}`,
      'a list is comma-separated; a range is first,second,...,last (e.g. 0.05,0.06,...,0.15)');
  }
}

/** `1000,2000` (time units) or `1%,2%,...,20%` (of the target time): all items one way or the other. */
function parseLengths(flag: string, text: string): Length[] {
  const items = text.split(',').map((item) => item.trim()).filter((item) => item !== '...');
  const percent = items.some((item) => item.endsWith('%'));
  if (percent && !items.every((item) => item.endsWith('%'))) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: give every value in time units or every value as a percentage, not a mix`);
  }
  const values = parseList(flag, percent ? text.replace(/%/g, '') : text);
  return values.map((value) => {
    if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`${flag} ${value}${percent ? '%' : ''} must be positive`);
    return { value, percent };
  });
}

function parsePositive(flag: string, text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0) throw new UsageError(`${flag} ${JSON.stringify(text)} must be a positive number (time units per EMA update)`);
  return value;
}

function lengthText(length: Length): string {
  return length.percent ? `${length.value}%` : String(length.value);
}

/** The target's short label: kind and the number the user gave, in its shortest exact form. */
/** Power-function targets only (`--sigma-rel` / `--gamma`), for commands whose math knows no other kind. */
export function parsePowerTargets(options: Pick<TargetFlags, 'sigmaRel' | 'gamma'>): PowerTarget[] {
  return parseTargets(options).filter((t): t is PowerTarget => t.kind === 'power');
}

export function targetLabel(target: Target): string {
  switch (target.kind) {
    case 'power': return target.givenAs === 'sigma_rel' ? `sigma_rel ${target.sigmaRel}` : `gamma ${target.gamma}`;
    case 'exponential': return target.givenAs === 'beta' ? `beta ${target.beta}${target.betaEvery === undefined ? '' : ` every ${target.betaEvery}`}` : `half-life ${lengthText(target.halfLife)}`;
    case 'window': return `window ${lengthText(target.window)}`;
  }
}

/** The part of a default file name that names the target: `sigma0.08`, `beta0.9999`, `halflife5pct`, `window2000`. */
export function targetNameStem(target: Target): string {
  const length = (l: Length): string => (l.percent ? `${l.value}pct` : String(l.value));
  switch (target.kind) {
    case 'power': return target.givenAs === 'sigma_rel' ? `sigma${String(target.sigmaRel)}` : `gamma${String(target.gamma)}`;
    case 'exponential': return target.givenAs === 'beta' ? `beta${target.beta}${target.betaEvery === undefined ? '' : `-every${target.betaEvery}`}` : `halflife${length(target.halfLife)}`;
    case 'window': return `window${length(target.window)}`;
  }
}
