/**
 * Grouping runs into cells (one cell = one combination of the swept axes' values, all its seeds)
 * and summarising each: k converged out of n finished, an interval, outcome counts, quartiles.
 */
import { countOf, emptyOutcomeCounts, inN, isInfrastructure, type Outcome } from '../outcome';
import { quantiles, wilson } from './stats';
import type { CellSummary, ParamValue, ReportInput, RunRow } from './types';

/** Counts over a set of runs: the numbers a rate and a comparison are built from. */
export interface RunTally {
  runs: number;
  done: number;
  /** Finished runs: trained to the end and scored (not failed, timed_out, or lacking the rule's metric). */
  n: number;
  /** Finished runs that converged. */
  k: number;
  /** Of the n, alive at initialisation; and of those, converged. */
  alive: number;
  kAlive: number;
  /** Done runs that lack the rule's metric. */
  lacksMetric: number;
  /** Pending or running. */
  unfinished: number;
  outcomes: Record<Outcome, number>;
}

/**
 * In the rate: the run trained to the end and has an outcome about the setting (the outcome
 * module's countOf). Failed and timed_out runs (infrastructure) and runs lacking the rule's metric
 * are counted apart.
 */
export function isFinished(run: RunRow): boolean {
  return inN(countOf(run, 'all'));
}

export function tallyRuns(runs: readonly RunRow[]): RunTally {
  const outcomes = emptyOutcomeCounts();
  const t: RunTally = { runs: runs.length, done: 0, n: 0, k: 0, alive: 0, kAlive: 0, lacksMetric: 0, unfinished: 0, outcomes };
  for (const run of runs) {
    if (run.status === 'done') t.done++;
    if (run.outcome !== null) outcomes[run.outcome]++;
    const all = countOf(run, 'all');
    if (all === 'unfinished') t.unfinished++;
    if (all === 'lacks_metric') t.lacksMetric++;
    if (!inN(all)) continue;
    t.n++;
    if (all === 'converged') t.k++;
    const alive = countOf(run, 'alive');
    if (!inN(alive)) continue;
    t.alive++;
    if (alive === 'converged') t.kAlive++;
  }
  return t;
}

/**
 * How a parameter value is written in cell keys and tables. Strings are quoted only when needed:
 * when they hold other characters, or would read as a number or boolean (so "1" and 1 stay apart
 * and a key reads back the same through parseFilter).
 */
export function formatParamValue(v: ParamValue): string {
  if (typeof v !== 'string') return String(v);
  const bare = /^[A-Za-z0-9_.+-]+$/.test(v) && !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) && v !== 'true' && v !== 'false';
  return bare ? v : JSON.stringify(v);
}

export function cellKey(axes: readonly string[], params: Record<string, ParamValue>): string {
  return axes.map((a) => `${a}=${a in params ? formatParamValue(params[a]!) : '?'}`).join(' ');
}

// Numbers sort numerically (so 80 < 130), then booleans, then strings; a missing value goes last.
function rank(v: ParamValue | undefined): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'boolean') return 1;
  if (typeof v === 'string') return 2;
  return 3;
}

export function compareParamValues(a: ParamValue | undefined, b: ParamValue | undefined): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return 0;
}

/** Summarise one group of runs that share the axes' values. */
export function summarizeCell(
  axes: readonly string[],
  params: Record<string, ParamValue>,
  runs: readonly RunRow[],
  rule: Pick<ReportInput, 'metric' | 'threshold' | 'epoch' | 'trainer'> = { metric: 'pop_mae', threshold: 0.05 },
): CellSummary {
  const t = tallyRuns(runs);
  const finished = runs.filter(isFinished);
  const user = rule.trainer !== undefined && rule.trainer !== 'builtin' ? userFields(runs) : {};
  return {
    ...user,
    params,
    key: cellKey(axes, params),
    runs: t.runs,
    done: t.done,
    converged: t.k,
    n: t.n,
    rate: t.n > 0 ? t.k / t.n : null,
    ci: wilson(t.k, t.n),
    alive: t.alive,
    convergedAlive: t.kAlive,
    rateAlive: t.alive > 0 ? t.kAlive / t.alive : null,
    ciAlive: wilson(t.kAlive, t.alive),
    lacksMetric: t.lacksMetric,
    outcomes: t.outcomes,
    failedRuns: runs.filter((r) => isInfrastructure(r.outcome)).map((r) => r.id),
    metric: rule.metric,
    threshold: rule.threshold,
    epoch: rule.epoch ?? null,
    ruleMedian: quantiles(
      finished.flatMap((r) => {
        // Scored at read time: the value at the scored epoch; else the stored final value.
        const v = r.ruleValue !== undefined ? r.ruleValue : r.finalMetrics?.[rule.metric];
        return v === undefined || v === null ? [] : [v];
      }),
    ).median,
    valMae: quantiles(finished.flatMap((r) => (r.finalValMae === null ? [] : [r.finalValMae]))),
    convergedEpoch: quantiles(finished.flatMap((r) => (r.outcome === 'converged' && r.convergedEpoch !== null ? [r.convergedEpoch] : []))),
  };
}

/** What only a user trainer's cell has: its code versions and its runs without the rule's metric. */
function userFields(runs: readonly RunRow[]): Pick<CellSummary, 'userTrainer' | 'codeHashes' | 'noMetricRuns'> {
  const hashes = new Map<string, number>();
  for (const r of runs) if (r.codeHash) hashes.set(r.codeHash, (hashes.get(r.codeHash) ?? 0) + 1);
  return {
    userTrainer: true,
    codeHashes: [...hashes].map(([hash, n]) => ({ hash, runs: n })).sort((a, b) => b.runs - a.runs || (a.hash < b.hash ? -1 : 1)),
    noMetricRuns: runs.filter((r) => r.outcome === 'no_metric').map((r) => r.id),
  };
}

/**
 * One summary per distinct combination of the axes' values, sorted by the axes in order
 * (numerically where numeric). With no axes, all runs form one cell.
 */
export function summarizeCells(input: ReportInput): CellSummary[] {
  const { axes } = input;
  const groups = new Map<string, { params: Record<string, ParamValue>; runs: RunRow[] }>();
  for (const run of input.runs) {
    const params: Record<string, ParamValue> = {};
    for (const a of axes) {
      const v = run.params[a];
      if (v !== undefined) params[a] = v;
    }
    // JSON of the values array distinguishes 1 from "1" and a missing axis (null) from both.
    const id = JSON.stringify(axes.map((a) => (a in params ? params[a] : null)));
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { params, runs: [] }));
    g.runs.push(run);
  }
  const sorted = [...groups.values()].sort((x, y) => {
    for (const a of axes) {
      const c = compareParamValues(x.params[a], y.params[a]);
      if (c !== 0) return c;
    }
    return 0;
  });
  return sorted.map((g) => summarizeCell(axes, g.params, g.runs, input));
}
