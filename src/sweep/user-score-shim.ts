/**
 * SHIM until H1's generic scoring lands in src/outcome (issue 18 design, "Scoring"): the
 * coordinator swaps this import for `scoreUserRun` from '../outcome' at merge. Same signature.
 */
import type { Rule, Score, ScoredEpoch } from '../outcome';

export function scoreUserRun(epochs: readonly ScoredEpoch[], rule: Rule, budget?: number): Score {
  const seen = budget === undefined ? epochs : epochs.filter((e) => e.epoch <= budget);
  const direction = rule.direction ?? 'below';
  const meets = (v: number) => (direction === 'below' ? v < rule.threshold : v > rule.threshold);
  const none = (outcome: Score['outcome'], epoch: number | null = null, value: number | null = null): Score => ({ outcome, convergedEpoch: null, epoch, value, lacksMetric: false });
  const last = seen[seen.length - 1];
  if (!last) return { ...none('no_metric'), lacksMetric: true };
  const valueAt = (e: ScoredEpoch) => (e.extra && Object.hasOwn(e.extra, rule.metric) ? e.extra[rule.metric]! : undefined);
  if (seen.some((e) => e.extra !== undefined && Object.values(e.extra).some((v) => v === null))) return none('diverged', last.epoch, valueAt(last) ?? null);
  const having = seen.filter((e) => typeof valueAt(e) === 'number');
  if (having.length === 0) return { ...none('no_metric', last.epoch), lacksMetric: true };
  if ((rule.at ?? 'last') === 'best') {
    let best = having[0]!;
    for (const e of having) {
      const v = valueAt(e) as number;
      const b = valueAt(best) as number;
      if (direction === 'below' ? v < b : v > b) best = e;
    }
    const value = valueAt(best) as number;
    return meets(value) ? { outcome: 'converged', convergedEpoch: best.epoch, epoch: best.epoch, value, lacksMetric: false } : none('not_converged', best.epoch, value);
  }
  const scored = having[having.length - 1]!;
  const value = valueAt(scored) as number;
  if (!meets(value)) return none('not_converged', scored.epoch, value);
  let first = scored.epoch;
  for (let i = having.length - 1; i >= 0; i--) {
    if (meets(valueAt(having[i]!) as number)) first = having[i]!.epoch;
    else break;
  }
  return { outcome: 'converged', convergedEpoch: first, epoch: scored.epoch, value, lacksMetric: false };
}
