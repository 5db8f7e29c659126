/**
 * The one owner of a run's outcome. The stored per-epoch metrics are the truth; an outcome is a
 * function of (those epochs, a few run flags, the rule, an optional epoch budget). The runner
 * (src/sweep/execute.ts), the re-scoring on a rule change (src/store/rescore.ts) and every reader
 * (report, compare, query, status) ask this module, so a cell can never mix two rules.
 * Pure: no I/O, no clock.
 */
import { testCount } from '../data/sequences';
import type { MetricDirection, RuleEpoch } from '../trainer/types';

/** Every outcome, in the order tables and legends show them (best first, infrastructure last). */
export const OUTCOMES = ['converged', 'not_converged', 'dead_at_init', 'dead', 'diverged', 'no_metric', 'failed', 'timed_out'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What each outcome means, for help texts and the README. */
export const OUTCOME_DOC: Record<Outcome, string> = {
  converged: "the rule's metric is below the threshold at the scored epoch",
  not_converged: 'trained to the end, alive, but the metric is not below the threshold',
  dead_at_init: 'the ReLU output was <= 0 on every training row before the first update: every gradient is 0 forever',
  dead: 'alive at init, but the ReLU output is <= 0 on every one of the L+1 population rows at the scored epoch',
  diverged: 'a NaN or Inf loss appeared (training stopped there)',
  no_metric: "finished without ever reporting the rule's metric (a user trainer): not counted in n, listed like failed",
  failed: 'the worker failed (an error, out of memory): infrastructure, not a property of the setting',
  timed_out: 'stopped by --timeout: infrastructure, not a property of the setting',
};

/** The metrics a rule may compare, the default first. */
export const RULE_METRICS = ['pop_mae', 'pop_loss', 'unseen_mae', 'val_mae', 'val_loss', 'mae', 'loss'] as const;
export type RuleMetric = (typeof RULE_METRICS)[number];

/** Metrics measured on the validation split (floor(test_fraction * n_samples) rows). */
export const VALIDATION_METRICS: ReadonlySet<RuleMetric> = new Set<RuleMetric>(['val_mae', 'val_loss']);

/** Below this many validation rows, a validation metric is too thin to decide an outcome (plan and report warn). */
export const MIN_VALIDATION_ROWS = 10;

/**
 * The warning for one cell when the rule's metric is a validation metric and the validation
 * split has fewer than MIN_VALIDATION_ROWS rows (at N = 10 it is one row: a dead net scores
 * val_mae 0 when that row is the all-zero row), else null.
 */
export function thinValidationWarning(rule: Rule, cell: string, p: { n_samples: number; test_fraction: number }): string | null {
  if (!VALIDATION_METRICS.has(rule.metric as RuleMetric)) return null;
  const rows = testCount(p.n_samples, p.test_fraction);
  if (rows >= MIN_VALIDATION_ROWS) return null;
  if (rows === 0) return `warning: ${cell || 'all runs'}: the rule's metric ${rule.metric} has no validation rows here (test_fraction ${p.test_fraction}): its runs lack it; pop_mae scores all seq_len + 1 rows`;
  return `warning: ${cell || 'all runs'}: the rule's metric ${rule.metric} rests on ${rows} validation row${rows === 1 ? '' : 's'} (fewer than ${MIN_VALIDATION_ROWS}); pop_mae scores all seq_len + 1 rows`;
}

/**
 * When a run counts as converged: `metric < threshold` at the scored epoch (direction `below`,
 * the default), or `metric > threshold` (direction `above`, e.g. an accuracy). `at: best` reads
 * the best epoch for that direction instead of the last one. A built-in rule names one of
 * RULE_METRICS; a user trainer's rule names any metric it reports.
 */
export interface Rule {
  metric: string;
  threshold: number;
  /** @default 'below' */
  direction?: MetricDirection;
  /** @default 'last' */
  at?: RuleEpoch;
}

/**
 * The default rule: MAE over the whole input space (all L+1 rows). A validation metric rests on
 * floor(0.1 * N) rows (1 row at N = 10), where a dead net can score 0.
 */
export const DEFAULT_RULE: Rule = { metric: 'pop_mae', threshold: 0.05 };

export function formatRule(rule: Rule): string {
  return `${rule.metric} ${(rule.direction ?? 'below') === 'above' ? '>' : '<'} ${rule.threshold}${(rule.at ?? 'last') === 'best' ? ' at the best epoch' : ''}`;
}

export function sameRule(a: Rule, b: Rule): boolean {
  return a.metric === b.metric && a.threshold === b.threshold && (a.direction ?? 'below') === (b.direction ?? 'below') && (a.at ?? 'last') === (b.at ?? 'last');
}

/** Whether `value` meets the rule's threshold in its direction (strictly). */
export function meetsRule(value: number, rule: Rule): boolean {
  return (rule.direction ?? 'below') === 'above' ? value > rule.threshold : value < rule.threshold;
}

/**
 * One epoch as stored. null = not stored: a non-finite value (SQLite has no NaN), a population
 * metric of a run recorded before population metrics existed, or unseen_mae when every row was drawn.
 */
export interface ScoredEpoch {
  epoch: number;
  loss: number | null;
  mae: number | null;
  valLoss: number | null;
  valMae: number | null;
  popLoss: number | null;
  popMae: number | null;
  unseenMae: number | null;
  popMaxOutput: number | null;
  /** A user trainer's metrics by name (null: reported non-finite). Absent for built-in runs. */
  extra?: Readonly<Record<string, number | null>>;
}

/** The activation of a run's output layer, as the output_activation parameter names it. */
export type OutputActivation = 'relu' | 'linear';

/** The run-level facts an outcome needs besides its epochs. */
export interface RunFlags {
  /** Set for a run that did not finish training: failed (a worker error) or timed_out (--timeout). */
  failure: 'failed' | 'timed_out' | null;
  /**
   * The activation of the Dense(1) output (the run's output_activation). Only a ReLU output can
   * be dead: a linear output passes a gradient whatever its sign, so its outputs <= 0 are values,
   * not a dead unit.
   */
  outputActivation: OutputActivation;
  /** false: dead at initialisation; null: unknown (a run recorded before this was measured). */
  aliveAtInit: boolean | null;
  /**
   * Only for runs recorded before population metrics: whether they were recorded `dead` (output
   * <= 0 on the drawn rows after training). Used only when pop_max_output is missing.
   */
  legacyDead?: boolean;
}

export interface Score {
  /** null: the run is unfinished, or it cannot be scored because it lacks the rule's metric. */
  outcome: Outcome | null;
  /** First epoch of the final streak of epochs below the threshold, when converged. */
  convergedEpoch: number | null;
  /** The epoch scored: the last one stored up to the budget. */
  epoch: number | null;
  /** The rule's metric at the scored epoch (null when not stored). */
  value: number | null;
  /** True when the outcome depends on the metric and the run lacks it (excluded from rates). */
  lacksMetric: boolean;
}

export function metricOf(e: ScoredEpoch, metric: string): number | null {
  if (e.extra) return e.extra[metric] ?? null;
  switch (metric as RuleMetric) {
    case 'pop_mae':
      return e.popMae;
    case 'pop_loss':
      return e.popLoss;
    case 'unseen_mae':
      return e.unseenMae;
    case 'val_mae':
      return e.valMae;
    case 'val_loss':
      return e.valLoss;
    case 'mae':
      return e.mae;
    case 'loss':
      return e.loss;
    default:
      return null;
  }
}

const finiteOrNull = (x: number | null | undefined): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/** An engine's epoch metrics as the store keeps them (non-finite → null), so write-time and re-scoring agree. */
export function toScoredEpoch(m: {
  epoch: number;
  loss: number;
  mae: number;
  valLoss: number | null;
  valMae: number | null;
  popLoss?: number;
  popMae?: number;
  unseenMae?: number | null;
  popMaxOutput?: number;
}): ScoredEpoch {
  return {
    epoch: m.epoch,
    loss: finiteOrNull(m.loss),
    mae: finiteOrNull(m.mae),
    valLoss: finiteOrNull(m.valLoss),
    valMae: finiteOrNull(m.valMae),
    popLoss: finiteOrNull(m.popLoss),
    popMae: finiteOrNull(m.popMae),
    unseenMae: finiteOrNull(m.unseenMae),
    popMaxOutput: finiteOrNull(m.popMaxOutput),
  };
}

/**
 * Whether a run trained without a validation split (test_fraction 0): it stores null val metrics
 * at every epoch next to population metrics. A run with a split has a finite val metric at every
 * epoch but the one it diverged at, and a run recorded before population metrics has none of
 * them: neither reads as split-less.
 */
function withoutValidationSplit(epochs: readonly ScoredEpoch[]): boolean {
  return epochs.every((e) => e.valLoss === null && e.valMae === null) && epochs.some((e) => e.popLoss !== null && e.popMae !== null);
}

/**
 * The training loop stops at the first epoch with a non-finite train metric, or a non-finite
 * metric after the epoch: on the validation split, or on the population without one (src/train/loop.ts).
 */
function divergedAt(e: ScoredEpoch, noSplit: boolean): boolean {
  if (e.loss === null || e.mae === null) return true;
  return noSplit ? e.popLoss === null || e.popMae === null : e.valLoss === null || e.valMae === null;
}

const none = (outcome: Outcome | null, epoch: number | null = null, value: number | null = null, lacksMetric = false): Score => ({
  outcome,
  convergedEpoch: null,
  epoch,
  value,
  lacksMetric,
});

/**
 * The outcome of one run, in this order:
 * 1. failed / timed_out: the run did not finish training (infrastructure).
 * 2. diverged: some epoch up to the budget has a non-finite train or validation metric.
 * 3. dead_at_init: the ReLU output was dead before the first update (its gradients are 0 forever).
 * 4. dead: pop_max_output <= 0 at the scored epoch (a run without it: recorded `dead`, scored at its last epoch).
 *    3 and 4 only for a ReLU output: a linear output is never dead.
 * 5. converged: the rule's metric < threshold at the scored epoch; else not_converged. With
 *    `at: best`, the lowest value over the epochs up to the budget, converged at that epoch.
 * A dead net can never be converged. A run without the rule's metric at the scored epoch gets
 * outcome null and `lacksMetric` (rates exclude it and say how many).
 *
 * @param epochs the run's stored epochs in epoch order
 * @param budget score as if the run had stopped after this epoch; undefined = its last epoch
 */
export function scoreRun(epochs: readonly ScoredEpoch[], flags: RunFlags, rule: Rule, budget?: number): Score {
  if (flags.failure) return none(flags.failure);
  const seen = budget === undefined ? epochs : epochs.filter((e) => e.epoch <= budget);
  const last = seen[seen.length - 1];
  if (!last) return none(null);
  const value = metricOf(last, rule.metric);
  const noSplit = withoutValidationSplit(epochs);
  if (seen.some((e) => divergedAt(e, noSplit))) return none('diverged', last.epoch, value);
  if (flags.outputActivation === 'relu') {
    if (flags.aliveAtInit === false) return none('dead_at_init', last.epoch, value);
    const dead = last.popMaxOutput !== null ? last.popMaxOutput <= 0 : flags.legacyDead === true && last === epochs[epochs.length - 1];
    if (dead) return none('dead', last.epoch, value);
  }
  if (rule.at === 'best') return scoreBestEpoch(seen, rule, last.epoch);
  if (value === null) return none(null, last.epoch, null, true);
  if (!(value < rule.threshold)) return none('not_converged', last.epoch, value);
  let first = last.epoch;
  for (let i = seen.length - 1; i >= 0; i--) {
    const v = metricOf(seen[i]!, rule.metric);
    if (v !== null && v < rule.threshold) first = seen[i]!.epoch;
    else break;
  }
  return { outcome: 'converged', convergedEpoch: first, epoch: last.epoch, value, lacksMetric: false };
}

/** A user trainer's reported epoch as scoring reads it: its metrics in `extra`, the built-in fields null. */
export function userScoredEpoch(e: { epoch: number; metrics: Readonly<Record<string, number | null>> }): ScoredEpoch {
  const extra: Record<string, number | null> = {};
  for (const [k, v] of Object.entries(e.metrics)) extra[k] = finiteOrNull(v);
  return { epoch: e.epoch, loss: null, mae: null, valLoss: null, valMae: null, popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null, extra };
}

/**
 * The outcome of one run of a module or command trainer (epochs carry `extra`), in this order:
 * 1. failed / timed_out: the run did not finish (infrastructure).
 * 2. diverged: some epoch up to the budget reported a metric as NaN or ±Inf (stored null).
 * 3. no_metric: the run never reported the rule's metric up to the budget (also a run with no
 *    epoch at all): out of n, listed like failed, never not_converged.
 * 4. the scored value: at `last`, the rule's metric at the last epoch up to the budget (when that
 *    epoch lacks it, the last epoch that has it); at `best`, its minimum (below) or maximum
 *    (above) over the epochs up to the budget, the first epoch reaching it on a tie.
 * 5. converged when the value passes the threshold strictly in the rule's direction, else
 *    not_converged. convergedEpoch: at `last`, the first epoch of the final streak of epochs
 *    meeting the rule (epochs without the metric do not break it); at `best`, the best epoch.
 * No dead / dead_at_init: a user trainer has no notion of a dead output.
 */
export function scoreUserRun(epochs: readonly ScoredEpoch[], rule: Rule, budget?: number, failure: 'failed' | 'timed_out' | null = null): Score {
  if (failure) return none(failure);
  const p = preparedUserEpochs(epochs, rule.metric);
  // Epochs up to the budget: the first n (stored in epoch order).
  let n = epochs.length;
  if (budget !== undefined) {
    let lo = 0;
    while (lo < n) {
      const mid = (lo + n) >> 1;
      if (p.epoch[mid]! <= budget) lo = mid + 1;
      else n = mid;
    }
  }
  const last = n > 0 ? epochs[n - 1] : undefined;
  const at = (i: number) => p.value[i]!;
  if (p.firstNull < n) return none('diverged', last!.epoch, Number.isNaN(at(n - 1)) ? null : at(n - 1));
  let lastHas = n - 1;
  while (lastHas >= 0 && Number.isNaN(at(lastHas))) lastHas--;
  if (lastHas < 0) return none('no_metric', last?.epoch ?? null, null, true);
  if ((rule.at ?? 'last') === 'best') {
    const above = (rule.direction ?? 'below') === 'above';
    let best = -1;
    for (let i = 0; i < n; i++) {
      const v = at(i);
      if (Number.isNaN(v)) continue;
      if (best < 0 || (above ? v > at(best) : v < at(best))) best = i;
    }
    const value = at(best);
    if (!meetsRule(value, rule)) return none('not_converged', p.epoch[best]!, value);
    return { outcome: 'converged', convergedEpoch: p.epoch[best]!, epoch: p.epoch[best]!, value, lacksMetric: false };
  }
  const value = at(lastHas);
  if (!meetsRule(value, rule)) return none('not_converged', p.epoch[lastHas]!, value);
  let first = p.epoch[lastHas]!;
  for (let i = lastHas; i >= 0; i--) {
    const v = at(i);
    if (Number.isNaN(v)) continue; // an epoch without the metric does not break the streak
    if (meetsRule(v, rule)) first = p.epoch[i]!;
    else break;
  }
  return { outcome: 'converged', convergedEpoch: first, epoch: p.epoch[lastHas]!, value, lacksMetric: false };
}

/**
 * A user run's epochs as plain arrays, per rule metric: epoch numbers, the metric's values (NaN
 * where not reported) and the index of the first epoch with any metric stored null (non-finite).
 * Cached per epochs array: a budget curve scores the same run at hundreds of budgets.
 */
interface PreparedUserEpochs {
  epoch: Int32Array;
  value: Float64Array;
  firstNull: number;
}
const preparedCache = new WeakMap<readonly ScoredEpoch[], Map<string, PreparedUserEpochs>>();

function preparedUserEpochs(epochs: readonly ScoredEpoch[], metric: string): PreparedUserEpochs {
  let byMetric = preparedCache.get(epochs);
  if (!byMetric) preparedCache.set(epochs, (byMetric = new Map()));
  const hit = byMetric.get(metric);
  if (hit) return hit;
  const epoch = new Int32Array(epochs.length);
  const value = new Float64Array(epochs.length);
  let firstNull = epochs.length;
  epochs.forEach((e, i) => {
    epoch[i] = e.epoch;
    const v = metricOf(e, metric);
    value[i] = v === null ? NaN : v;
    if (firstNull === epochs.length) for (const k in e.extra) if (e.extra[k] === null) firstNull = i;
  });
  const p = { epoch, value, firstNull };
  byMetric.set(metric, p);
  return p;
}

/**
 * A built-in run under `at: best` (once it is known not diverged and not dead at its last epoch):
 * the lowest value of the rule's metric over the epochs seen, converged at that epoch when it is
 * below the threshold.
 */
function scoreBestEpoch(seen: readonly ScoredEpoch[], rule: Rule, lastEpoch: number): Score {
  let best: ScoredEpoch | undefined;
  let bestValue = Infinity;
  for (const e of seen) {
    const v = metricOf(e, rule.metric);
    if (v !== null && v < bestValue) {
      best = e;
      bestValue = v;
    }
  }
  if (!best) return none(null, lastEpoch, null, true);
  if (!(bestValue < rule.threshold)) return none('not_converged', best.epoch, bestValue);
  return { outcome: 'converged', convergedEpoch: best.epoch, epoch: best.epoch, value: bestValue, lacksMetric: false };
}

/** Outcomes that say nothing about the setting: the run did not finish training. */
export function isInfrastructure(o: Outcome | null): o is 'failed' | 'timed_out' {
  return o === 'failed' || o === 'timed_out';
}

export function emptyOutcomeCounts(): Record<Outcome, number> {
  return Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
}

/** A run as stored: its status, its recorded outcome (for the failure kind), alive-at-init and output activation. */
export interface StoredRun {
  status: 'pending' | 'running' | 'done' | 'failed';
  outcome: Outcome | null;
  /** null or absent: not measured (a run recorded before alive-at-init existed). */
  aliveAtInit?: boolean | null;
  outputActivation: OutputActivation;
  /** Whose code trained it (the runs.trainer column); absent: the built-in trainer. */
  trainer?: 'builtin' | 'module' | 'command';
}

/**
 * Score a stored run under `rule`: unfinished runs have no outcome; a failed run keeps its
 * failure kind; a run recorded `dead` before population metrics existed stays dead at its last
 * epoch; a user trainer's run is scored by scoreUserRun (its epochs carry `extra`).
 */
export function scoreStoredRun(run: StoredRun, epochs: readonly ScoredEpoch[], rule: Rule, budget?: number): Score {
  if (run.status === 'pending' || run.status === 'running') return none(null);
  const failure = run.status === 'failed' ? (run.outcome === 'timed_out' ? 'timed_out' : 'failed') : null;
  if (run.trainer !== undefined && run.trainer !== 'builtin') return scoreUserRun(epochs, rule, budget, failure);
  return scoreRun(epochs, { failure, outputActivation: run.outputActivation, aliveAtInit: run.aliveAtInit ?? null, legacyDead: run.outcome === 'dead' }, rule, budget);
}

/** Which runs a rate counts: every run with an outcome about the setting, or only those alive at initialisation. */
export type Among = 'alive' | 'all';

/**
 * How one run counts in a rate k/n: `converged` and `not_converged` are in n (k counts the
 * first); every other value is out of n and says why: not finished yet, an infrastructure failure
 * (failed, timed_out), finished but lacking the rule's metric (e.g. unseen_mae when every row was
 * drawn, or a user trainer's run that never reported it: no_metric), or, among alive runs, not known to be alive at initialisation.
 */
export type Count = 'converged' | 'not_converged' | 'unfinished' | 'infrastructure' | 'lacks_metric' | 'not_alive';

/** A run as a rate counts it: its status, its outcome under the rule (null: none) and alive-at-init. */
export interface CountedRun {
  status: StoredRun['status'];
  outcome: Outcome | null;
  /** null or absent: not measured; such a run is not counted among alive runs. */
  aliveAtInit?: boolean | null;
}

/**
 * The one rule for who counts in n, asked by report, compare, adaptive repeats and search alike.
 * `run.outcome` must be scored under the rule being counted (the stored outcome follows the
 * sweep's rule; read-time scoring replaces it).
 */
export function countOf(run: CountedRun, among: Among): Count {
  if (run.status === 'pending' || run.status === 'running') return 'unfinished';
  if (run.status === 'failed' || isInfrastructure(run.outcome)) return 'infrastructure';
  if (run.outcome === null || run.outcome === 'no_metric') return 'lacks_metric';
  if (among === 'alive' && !countsAsAlive(run)) return 'not_alive';
  return run.outcome === 'converged' ? 'converged' : 'not_converged';
}

/** Alive at initialisation as the rule reads it: measured and true (an unmeasured run is not counted alive). */
export function countsAsAlive(run: Pick<CountedRun, 'aliveAtInit'>): boolean {
  return run.aliveAtInit === true;
}

/** In n: the run trained to the end and has an outcome about the setting (converged or not). */
export function inN(count: Count): count is 'converged' | 'not_converged' {
  return count === 'converged' || count === 'not_converged';
}
