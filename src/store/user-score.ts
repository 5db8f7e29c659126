/**
 * TO BE REPLACED by src/outcome's scoreUserRun (same name and signature) once it lands: a local copy of the
 * scoring the design fixes for a user trainer's run, so the store can re-score user runs on a rule
 * change. Same semantics: diverged when any reported metric of an epoch up to the budget is null;
 * no_metric when the run never reported the rule's metric; `at: last` reads the last epoch that
 * has the metric, `at: best` the best one for the direction.
 */
import type { Outcome, Rule, Score, ScoredEpoch } from '../outcome';

const meets = (v: number, rule: Rule) => ((rule.direction ?? 'below') === 'above' ? v > rule.threshold : v < rule.threshold);
const better = (a: number, b: number, rule: Rule) => ((rule.direction ?? 'below') === 'above' ? a > b : a < b);

const none = (outcome: Outcome | null, epoch: number | null = null, value: number | null = null): Score => ({
  outcome, convergedEpoch: null, epoch, value, lacksMetric: outcome === 'no_metric',
});

export function scoreUserRun(epochs: readonly ScoredEpoch[], rule: Rule, budget?: number, failure: 'failed' | 'timed_out' | null = null): Score {
  if (failure) return none(failure);
  const seen = budget === undefined ? epochs : epochs.filter((e) => e.epoch <= budget);
  const last = seen[seen.length - 1];
  if (!last) return none('no_metric');
  if (seen.some((e) => Object.values(e.extra ?? {}).some((v) => v === null))) return none('diverged', last.epoch, last.extra?.[rule.metric] ?? null);
  const having = seen.filter((e) => typeof e.extra?.[rule.metric] === 'number');
  if (having.length === 0) return none('no_metric', last.epoch);
  const valueOf = (e: ScoredEpoch) => e.extra![rule.metric] as number;
  if ((rule.at ?? 'last') === 'best') {
    let best = having[0]!;
    for (const e of having) if (better(valueOf(e), valueOf(best), rule)) best = e;
    const v = valueOf(best);
    return meets(v, rule)
      ? { outcome: 'converged', convergedEpoch: best.epoch, epoch: best.epoch, value: v, lacksMetric: false }
      : none('not_converged', best.epoch, v);
  }
  const scored = having[having.length - 1]!;
  const v = valueOf(scored);
  if (!meets(v, rule)) return none('not_converged', scored.epoch, v);
  let first = scored.epoch;
  for (let i = having.length - 1; i >= 0 && meets(valueOf(having[i]!), rule); i--) first = having[i]!.epoch;
  return { outcome: 'converged', convergedEpoch: first, epoch: scored.epoch, value: v, lacksMetric: false };
}
