/** What `prune` may do to the fit: a bounded rise per target, or a file count or disk budget to reach. */

/** `absolute`: the fit error may rise by `value` (0.001 = 0.1 percentage points); `relative`: by value x its size. */
export type ErrorIncrease = { readonly kind: 'absolute'; readonly value: number } | { readonly kind: 'relative'; readonly value: number };

export type PruneCriterion =
  | { readonly kind: 'increase'; readonly increase: ErrorIncrease }
  | { readonly kind: 'keep'; readonly count: number }
  | { readonly kind: 'budget'; readonly bytes: number };

/** Highest fit error allowed for a target whose error is now `baseline`. */
export function allowedError(increase: ErrorIncrease, baseline: number): number {
  return increase.kind === 'absolute' ? baseline + increase.value : baseline * (1 + increase.value);
}
