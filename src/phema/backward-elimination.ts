/**
 * Greedy backward elimination of snapshots (a heuristic, not an optimum): repeatedly remove the
 * snapshot whose removal raises the fit error least, measured over every target and evaluation
 * time, until no removal stays within the allowance or the caller has removed enough. Each step
 * scores every candidate in O(times x targets) and downdates only the chosen system
 * (elimination-system.ts). Pure math: profiles in, indices out.
 */
import type { Profile } from './inner-product.js';
import { EliminationSystem } from './elimination-system.js';

export interface EliminationInput {
  /** Every snapshot; evaluation time t uses those with time <= t. */
  readonly snapshots: readonly Profile[];
  readonly targetGammas: readonly number[];
  /** Evaluation times, each the time of at least one snapshot. */
  readonly times: readonly number[];
  /** Which snapshots may go. */
  readonly removable: readonly boolean[];
  /**
   * allowance[t][j] > 0: a removal's score is the largest (error - initial error) / allowance over
   * every time t and target j. Removals scoring above maxScore are never taken.
   */
  readonly allowance: readonly (readonly number[])[];
  readonly maxScore: number;
  /** Stops once this is true for the snapshots removed so far (checked before each step). */
  readonly enough: (removed: readonly number[]) => boolean;
}

export interface EliminationStep {
  readonly index: number;
  /** Score after this removal (see allowance). */
  readonly score: number;
}

export function eliminateGreedily(input: EliminationInput): EliminationStep[] {
  const systems = input.times.map((time) => new EliminationSystem(
    input.snapshots, input.snapshots.flatMap((s, i) => (s.time <= time ? [i] : [])), input.targetGammas, time,
  ));
  const initial = systems.map((system) => input.targetGammas.map((_, j) => system.error(j)));
  // Systems in time order: snapshot k belongs to exactly those at or after its time (a suffix).
  const order = systems.map((_, t) => t).sort((a, b) => systems[a].time - systems[b].time);
  const candidates = new Set(input.snapshots.flatMap((_, i) => (input.removable[i] ? [i] : [])));
  const steps: EliminationStep[] = [];
  const removed: number[] = [];
  while (candidates.size > 0 && !input.enough(removed)) {
    const standing = standingScores(systems, order, initial, input.allowance);
    let best = -1;
    let bestScore: Score = { worst: Number.POSITIVE_INFINITY, own: Number.POSITIVE_INFINITY };
    for (const index of candidates) {
      const score = scoreRemoval(systems, order, standing, initial, input.allowance, index, bestScore);
      if (better(score, bestScore)) [best, bestScore] = [index, score];
    }
    if (best < 0 || !(bestScore.worst <= input.maxScore)) break;
    for (const system of systems) if (system.contains(best)) system.remove(best);
    candidates.delete(best);
    removed.push(best);
    steps.push({ index: best, score: bestScore.worst });
  }
  return steps;
}

/**
 * standing[r]: the worst normalised rise, as things stand, over the systems order[0..r-1]: those a
 * removal of a snapshot first present in order[r] leaves unchanged.
 */
function standingScores(systems: readonly EliminationSystem[], order: readonly number[], initial: readonly (readonly number[])[], allowance: readonly (readonly number[])[]): Float64Array {
  const standing = new Float64Array(order.length + 1).fill(Number.NEGATIVE_INFINITY);
  order.forEach((t, r) => {
    let score = standing[r];
    for (let j = 0; j < initial[t].length; j++) score = Math.max(score, (systems[t].error(j) - initial[t][j]) / allowance[t][j]);
    standing[r + 1] = score;
  });
  return standing;
}

/**
 * `worst`: the largest normalised rise over every time and target if the snapshot went (what the
 * criterion limits). `own`: the largest rise this removal itself causes (from the errors as they
 * stand). Once an earlier removal has set the worst, many candidates tie on it; `own` then prefers
 * the one that does least harm, rather than whichever comes first.
 */
interface Score {
  readonly worst: number;
  readonly own: number;
}

function better(a: Score, b: Score): boolean {
  return a.worst < b.worst || (a.worst === b.worst && a.own < b.own);
}

/** The score if `index` went; gives up early (returning a worse score) once it cannot beat `cutoff`. */
function scoreRemoval(
  systems: readonly EliminationSystem[], order: readonly number[], standing: Float64Array,
  initial: readonly (readonly number[])[], allowance: readonly (readonly number[])[], index: number, cutoff: Score,
): Score {
  let first = 0;
  while (first < order.length && !systems[order[first]].contains(index)) first++;
  let worst = standing[first];
  let own = Number.NEGATIVE_INFINITY;
  for (let r = first; r < order.length; r++) {
    const t = order[r];
    const system = systems[t];
    for (let j = 0; j < initial[t].length; j++) {
      const error = system.errorWithout(index, j);
      worst = Math.max(worst, (error - initial[t][j]) / allowance[t][j]);
      own = Math.max(own, (error - system.error(j)) / allowance[t][j]);
      if (worst > cutoff.worst) return { worst, own };
    }
  }
  return { worst, own };
}
