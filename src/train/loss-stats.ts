/** Running statistics of the per-step loss over one status interval (written to log.jsonl). */
export interface LossStats {
  count: number;
  sum: number;
  sumSquares: number;
  min: number;
  max: number;
}

export function emptyLossStats(): LossStats {
  return { count: 0, sum: 0, sumSquares: 0, min: Infinity, max: -Infinity };
}

export function addLoss(stats: LossStats, loss: number): void {
  stats.count += 1;
  stats.sum += loss;
  stats.sumSquares += loss * loss;
  stats.min = Math.min(stats.min, loss);
  stats.max = Math.max(stats.max, loss);
}

export function summarizeLoss(stats: LossStats): { mean: number; std: number; min: number; max: number; steps: number } {
  const mean = stats.sum / stats.count;
  const variance = Math.max(0, stats.sumSquares / stats.count - mean * mean);
  return { mean, std: Math.sqrt(variance), min: stats.min, max: stats.max, steps: stats.count };
}
