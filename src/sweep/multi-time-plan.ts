/**
 * One reconstruction pass for targets at several training times. Each time has its own solve (its
 * own snapshots: those up to that time), but a pass over the snapshots up to the latest of them can
 * serve them all: a target at an earlier time gives the later snapshots weight 0 (adding 0 * x
 * leaves every float sum bit for bit as it was). So a length x time grid costs one pass per group,
 * not one per time.
 *
 * Tensors that are copied rather than blended (integer buffers such as BatchNorm's
 * num_batches_tracked, ema-pytorch's counters) come from the last snapshot a pass uses, which must
 * stay each target's own: plans with such tensors merge only with plans ending at the same snapshot.
 */
import { planTensors } from '../blend/blend-plan.js';
import type { ReconstructionPlan } from '../reconstruct/plan.js';

export interface MergedPlan {
  readonly plan: ReconstructionPlan;
  /** Indices of the input plans it serves, in the order of its summaries. */
  readonly members: readonly number[];
}

export function mergePlans(plans: readonly ReconstructionPlan[]): MergedPlan[] {
  const groups = new Map<string, number[]>();
  plans.forEach((plan, k) => {
    const last = plan.used[plan.used.length - 1];
    const key = copiesTensors(plan) ? `last:${last.path}` : 'any';
    groups.set(key, [...(groups.get(key) ?? []), k]);
  });
  return [...groups.values()].map((members) => ({ plan: merge(members.map((k) => plans[k])), members }));
}

function copiesTensors(plan: ReconstructionPlan): boolean {
  const last = plan.used[plan.used.length - 1];
  return planTensors(last.source.tensors, 'same', plan.copiedTensors).some((t) => t.mode !== 'blend');
}

function merge(plans: readonly ReconstructionPlan[]): ReconstructionPlan {
  if (plans.length === 1) return plans[0];
  const byPath = new Map(plans.flatMap((p) => p.used.map((s) => [s.path, s] as const)));
  const used = [...byPath.values()].sort((a, b) => a.time - b.time);
  const index = new Map(used.map((s, i) => [s.path, i]));
  const summaries = plans.flatMap((plan) => plan.summaries.map((summary) => {
    const coefficients = new Array<number>(used.length).fill(0);
    plan.used.forEach((s, i) => { coefficients[index.get(s.path)!] = summary.coefficients[i]; });
    return { ...summary, coefficients };
  }));
  const latest = plans.reduce((a, b) => (b.time > a.time ? b : a));
  return { ...latest, used, targets: plans.flatMap((p) => p.targets), summaries };
}
