import type { EvalEvent } from './eval-runner.js';
import { formatMetric, formatSigmaRel } from './report.js';

/**
 * One line of evaluation progress for stderr (a spinner's text or a plain log line), from the
 * runner's events: `evaluated 3/8, best sigma_rel 0.11 (metric 0.0036)`, plus why the last one
 * failed when it did. Rendering only; the runner itself never prints.
 */
export function formatEvalProgress(event: EvalEvent): string {
  if (event.type === 'started') {
    return `evaluating sigma_rel ${formatSigmaRel(event.task.sigmaRel)}${seedText(event.task)} (${event.running} running)`;
  }
  if (event.type === 'retrying') {
    return `sigma_rel ${formatSigmaRel(event.task.sigmaRel)}${seedText(event.task)} failed (${event.reason}); attempt ${event.attempt}`;
  }
  const parts = [`evaluated ${event.done}/${event.total}`];
  if (event.best !== undefined) {
    parts.push(`best sigma_rel ${formatSigmaRel(event.best.task.sigmaRel)} (metric ${formatMetric(event.best.metric)})`);
  }
  if (event.result.status === 'failed') {
    parts.push(`sigma_rel ${formatSigmaRel(event.task.sigmaRel)} failed: ${event.result.reason}`);
  }
  return parts.join(', ');
}

const seedText = (task: { readonly seed?: number }): string => (task.seed === undefined ? '' : ` seed ${task.seed}`);
