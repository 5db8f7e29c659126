/**
 * The search loop: ask the state machine of every boundary what to train next, record those runs
 * in the database (in_plan = 1, keyed like any run), train them with SweepExecution, read the
 * results back, repeat until every boundary is done. Nothing but the database carries state
 * between rounds, so a search killed at any point resumes exactly: runs cut off are redone with
 * the same seeds, and every decision is recomputed from the same observations.
 */
import type { Plan, PlannedRun } from '../grid';
import { expandSearch, searchCellKeys, searchRun, searchStates, type BoundaryAnswer, type BoundaryState, type SearchPlan } from '../search';
import type { SweepSpec } from '../spec';
import type { Outcome } from '../outcome';
import { readOutcomesAtBudgets, readRunsOfCells, retryWhileBusy, syncPlan, type Db } from '../store';
import { SweepExecution, type ExecuteOptions } from './execute';

export interface SearchResult {
  plan: SearchPlan;
  states: BoundaryState[];
  trained: number;
  failed: number;
  interrupted: boolean;
  databaseFailed?: string;
  /** The breaker tripped in a round (user trainers): the search stopped there. */
  breaker?: string;
}

export interface SearchOptions extends Omit<ExecuteOptions, 'keys' | 'db' | 'spec'> {
  db: Db;
  dbPath: string;
  spec: SweepSpec;
  /** Called once per round with the state of every boundary (for progress). */
  onRound?(states: BoundaryState[], newRuns: number): void;
  /** Lets the caller hold the execution of the round (to stop it on Ctrl-C). */
  onExecution?(e: SweepExecution | undefined): void;
  /**
   * Search only the boundaries of share `index` of `count` (1-based, round-robin in plan order):
   * shards on one database leave each other's runs alone, shards on their own databases merge
   * into the whole search (`converge merge`). Boundaries are independent, so the answers are the
   * unsharded search's.
   */
  shard?: { index: number; count: number };
}

/** Is boundary i (in plan order) in the shard? */
export function inSearchShard(i: number, shard: SearchOptions['shard']): boolean {
  return !shard || i % shard.count === shard.index - 1;
}

/** Outcomes at each epoch budget of runs already read (a finished run's never change while the rule stands). */
export type BudgetCache = Map<number, (Outcome | null)[]>;

/**
 * The current state of every boundary, from the database. With `search.budgets`, finished runs
 * are re-scored at each budget from their stored epochs; `cache` keeps those between rounds.
 */
export function readSearch(db: Db, spec: SweepSpec, plan: SearchPlan = expandSearch(spec), cache: BudgetCache = new Map()): BoundaryState[] {
  const keys = [...searchCellKeys(plan).keys()];
  const rows = readRunsOfCells(db, keys);
  const budgets = spec.search?.budgets;
  if (!budgets) return searchStates(spec, plan, rows);
  const fresh = rows.filter((r) => (r.status === 'done' || r.status === 'failed') && !cache.has(r.id)).map((r) => r.id);
  for (const [id, outcomes] of readOutcomesAtBudgets(db, fresh, spec.converged, budgets)) cache.set(id, outcomes);
  return searchStates(spec, plan, rows, cache);
}

export async function runSearch(o: SearchOptions): Promise<SearchResult> {
  const plan = expandSearch(o.spec);
  const mine = (i: number) => inSearchShard(i, o.shard);
  // Cells of the other shards' boundaries: their runs stay in the plan (syncPlan), never claimed here.
  const othersCells = o.shard ? new Set([...searchCellKeys(plan)].filter(([, at]) => !mine(at.boundary)).map(([key]) => key)) : undefined;
  const ownStates = (states: BoundaryState[]) => (o.shard ? states.filter((_, i) => mine(i)) : states);
  let trained = 0;
  let failed = 0;
  const cache: BudgetCache = new Map();
  for (;;) {
    const states = readSearch(o.db, o.spec, plan, cache);
    const runs: PlannedRun[] = [];
    let fresh = 0;
    let unfinished = 0;
    states.forEach((st, i) => {
      if (!mine(i)) return;
      runs.push(...st.existing);
      unfinished += st.unfinished;
      if (st.step && !st.step.done) {
        for (const r of st.step.runs) runs.push(searchRun(o.spec, plan, st.boundary, r.value, r.repeat));
        fresh += st.step.runs.length;
      }
    });
    o.onRound?.(ownStates(states), fresh);
    if (fresh === 0 && unfinished === 0) return { plan, states: ownStates(states), trained, failed, interrupted: false };
    const full: Plan = { name: o.spec.name, axes: plan.axes, cells: [], runs, skipped: [], timestepEpochs: 0 };
    await retryWhileBusy('sync', () => syncPlan(o.db, o.dbPath, o.spec, full, othersCells), { onWait: (s) => o.events?.onLockWait?.(s) });
    // A shard claims only its own boundaries' runs.
    const execution = new SweepExecution({ ...o, db: o.db, spec: o.spec, ...(o.shard ? { keys: new Set(runs.map((r) => r.runKey)) } : {}) });
    o.onExecution?.(execution);
    const r = await execution.execute();
    o.onExecution?.(undefined);
    trained += r.trained;
    failed += r.failed;
    if (r.breaker !== undefined) return { plan, states: ownStates(readSearch(o.db, o.spec, plan, cache)), trained, failed, interrupted: false, breaker: r.breaker };
    if (r.interrupted || r.databaseFailed) {
      return { plan, states: ownStates(readSearch(o.db, o.spec, plan, cache)), trained, failed, interrupted: r.interrupted, ...(r.databaseFailed ? { databaseFailed: r.databaseFailed } : {}) };
    }
  }
}

/** The answer of a boundary in the `search --json` shape. */
export interface BoundaryJson {
  for: Record<string, unknown>;
  bracketed: boolean;
  verdict: BoundaryAnswer['verdict'];
  estimate: number | null;
  ci_low: number | null;
  ci_high: number | null;
  slope: number | null;
  runs: number;
  stop: BoundaryAnswer['stop'] | 'running';
  probes: { value: number; k: number; n: number }[];
  /** The fitted ceiling of the rate (its upper asymptote), null without a fit. */
  ceiling: number | null;
  /** With `search.budgets`: the answer at each epoch budget, from the same runs. */
  budgets?: (Omit<BoundaryJson, 'for' | 'budgets' | 'runs' | 'stop'> & { epochs: number; settled: boolean })[];
}

export function boundaryJson(st: BoundaryState): BoundaryJson {
  const a = st.step?.answer;
  const budgets = st.budgets?.map((b) => {
    const x = b.step?.answer;
    return {
      epochs: b.epochs,
      bracketed: x?.bracketed ?? false,
      verdict: x?.verdict ?? 'undetermined',
      estimate: x?.estimate ?? null,
      ci_low: x?.ciLow ?? null,
      ci_high: x?.ciHigh ?? null,
      slope: x?.slope ?? null,
      ceiling: x?.ceiling ?? null,
      settled: b.step?.done === true && x?.stop !== 'budget',
      probes: (x?.probes ?? []).map((p) => ({ value: p.value, k: p.k, n: p.n })),
    };
  });
  return {
    for: st.boundary.fixed,
    bracketed: a?.bracketed ?? false,
    verdict: a?.verdict ?? 'undetermined',
    estimate: a?.estimate ?? null,
    ci_low: a?.ciLow ?? null,
    ci_high: a?.ciHigh ?? null,
    slope: a?.slope ?? null,
    runs: st.observations.length + st.unfinished,
    stop: st.step?.done ? a!.stop : 'running',
    probes: (a?.probes ?? []).map((p) => ({ value: p.value, k: p.k, n: p.n })),
    ceiling: a?.ceiling ?? null,
    ...(budgets ? { budgets } : {}),
  };
}
