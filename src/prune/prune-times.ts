/**
 * `prune --times`: when the fit must hold. `latest` (the default), `all` (every snapshot time), or
 * a list of absolute times or percentages of the latest time, each rounded down to a snapshot
 * time (the time a reconstruction can actually be made at). Pure; errors are RangeErrors for the
 * caller to word with the flag.
 */

/** Every evaluation time keeps a matrix of (snapshots up to it)^2 entries; beyond this `all` is refused. */
export const MAX_EVALUATION_ENTRIES = 40_000_000;

export function resolvePruneTimes(text: string, snapshotTimes: readonly number[]): number[] {
  const times = [...new Set(snapshotTimes)].sort((a, b) => a - b);
  const latest = times[times.length - 1];
  if (text.trim() === 'latest') return [latest];
  const chosen = text.trim() === 'all' ? times : text.split(',').map((item) => roundDown(item.trim(), times, latest));
  const unique = [...new Set(chosen)].sort((a, b) => a - b);
  const entries = unique.reduce((sum, t) => sum + snapshotTimes.filter((s) => s <= t).length ** 2, 0);
  if (entries > MAX_EVALUATION_ENTRIES) {
    throw new RangeError(`${unique.length} evaluation times over ${snapshotTimes.length} snapshots are too many to track at once; list a few times instead (e.g. 50%,75%,latest)`);
  }
  return unique;
}

function roundDown(item: string, times: readonly number[], latest: number): number {
  if (item === 'latest') return latest;
  const percent = item.endsWith('%');
  const value = Number(percent ? item.slice(0, -1) : item);
  if (item === '' || !(value > 0) || !Number.isFinite(value)) throw new RangeError(`'${item}' is not a positive time, a percentage of the latest time, or 'latest'`);
  const time = percent ? (value / 100) * latest : value;
  let found: number | undefined;
  for (const t of times) if (t <= time) found = t;
  if (found === undefined) throw new RangeError(`'${item}' (time ${time}) is before the first snapshot (time ${times[0]})`);
  return found;
}
