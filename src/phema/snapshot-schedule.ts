/**
 * When a training run writes its snapshots (pure arithmetic, no I/O): evenly every `interval`, or
 * with gaps that shrink geometrically so that snapshots are denser late in training.
 */

export type Spacing = 'uniform' | 'geometric';

/**
 * How much denser `geometric` spacing is at the end than at the start: the last gap is this many
 * times shorter than the first. The targets' weight lies late in the run (a power-function profile
 * at time T puts most of its mass in the last quarter or so), which is the case for spacing
 * snapshots more densely there; 4 is a moderate choice, stated rather than tuned per run.
 */
export const GEOMETRIC_GAP_RATIO = 4;

/** Times start + k * interval (k = 1, 2, ...) up to and including end: what `--snapshot-every` writes. */
export function uniformTimes(start: number, end: number, interval: number): number[] {
  if (!(interval > 0)) throw new RangeError(`snapshot interval must be positive, got ${interval}`);
  const times: number[] = [];
  for (let k = 1; start + k * interval <= end; k++) times.push(start + k * interval);
  return times;
}

/**
 * `count` times in (start, end], the last at `end`, whose consecutive gaps shrink by a constant
 * factor q from the first gap to the last (last / first = 1 / GEOMETRIC_GAP_RATIO). Times are
 * rounded to whole units (images or steps), as a training loop can only snapshot there; rounding
 * that would repeat a time is skipped, so fewer than `count` times can come back for tiny spans.
 */
export function geometricTimes(start: number, end: number, count: number): number[] {
  if (!(count >= 1) || !(end > start)) return [];
  if (count === 1) return [end];
  const q = GEOMETRIC_GAP_RATIO ** (-1 / (count - 1));
  const total = (1 - q ** count) / (1 - q); // sum of the gaps q^0 .. q^(count-1)
  const times: number[] = [];
  let sum = 0;
  for (let k = 0; k < count; k++) {
    sum += q ** k;
    const time = k === count - 1 ? end : Math.round(start + ((end - start) * sum) / total);
    if (time > start && (times.length === 0 || time > times[times.length - 1])) times.push(time);
  }
  return times;
}
