/**
 * Grouping runs into cells (one cell = one combination of the swept axes' values, all its seeds)
 * and summarising each: k converged out of n finished, an interval, outcome counts, quartiles.
 */
import { quantiles, wilson } from './stats';
import type { CellSummary, Outcome, ParamValue, ReportInput, RunRow } from './types';

/** Counts over a set of runs: the numbers a rate and a comparison are built from. */
export interface RunTally {
  runs: number;
  done: number;
  /** Finished runs: status done or failed. */
  n: number;
  /** Finished runs that converged. */
  k: number;
  outcomes: Record<Outcome, number>;
}

/** A run counts in the rate once it has finished, whether it trained to the end or failed. */
export function isFinished(run: RunRow): boolean {
  return run.status === 'done' || run.status === 'failed';
}

/**
 * The outcome a finished run is counted under. A finished run with no recorded outcome (a crash
 * before the outcome was written) counts as `failed`, so that it lowers the rate instead of
 * silently leaving the denominator.
 */
export function outcomeOf(run: RunRow): Outcome | null {
  if (!isFinished(run)) return null;
  return run.outcome ?? 'failed';
}

export function emptyOutcomes(): Record<Outcome, number> {
  return { converged: 0, not_converged: 0, dead: 0, diverged: 0, failed: 0, timed_out: 0 };
}

export function tallyRuns(runs: readonly RunRow[]): RunTally {
  const outcomes = emptyOutcomes();
  let done = 0;
  let n = 0;
  for (const run of runs) {
    if (run.status === 'done') done++;
    const o = outcomeOf(run);
    if (o === null) continue;
    n++;
    outcomes[o]++;
  }
  return { runs: runs.length, done, n, k: outcomes.converged, outcomes };
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
export function summarizeCell(axes: readonly string[], params: Record<string, ParamValue>, runs: readonly RunRow[]): CellSummary {
  const t = tallyRuns(runs);
  const finished = runs.filter(isFinished);
  return {
    params,
    key: cellKey(axes, params),
    runs: t.runs,
    done: t.done,
    converged: t.k,
    n: t.n,
    rate: t.n > 0 ? t.k / t.n : null,
    ci: wilson(t.k, t.n),
    outcomes: t.outcomes,
    valMae: quantiles(finished.flatMap((r) => (r.finalValMae === null ? [] : [r.finalValMae]))),
    convergedEpoch: quantiles(
      finished.flatMap((r) => (outcomeOf(r) === 'converged' && r.convergedEpoch !== null ? [r.convergedEpoch] : [])),
    ),
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
  return sorted.map((g) => summarizeCell(axes, g.params, g.runs));
}
