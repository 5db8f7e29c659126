/**
 * From the runs a database holds to the state of every boundary's search: its observations, the
 * runs asked for but not finished, and — when all are finished — the next step. Pure, so the
 * runner, the report and the tests compute the same thing from the same rows.
 */
import type { PlannedRun } from '../grid';
import { countOf, countsAsAlive, inN, type Among, type Count, type CountedRun, type Outcome } from '../outcome';
import type { SweepSpec } from '../spec';
import { candidateValues, nextSearchStep, type Observation, type SearchSettings, type SearchStep } from './boundary';
import { searchCellKey, searchRun, type Boundary, type SearchPlan } from './plan';

/** A run of a cell as the adaptive decisions read it (the store's readRunsOfCells returns these). */
export interface SearchRunRow {
  id: number;
  cellKey: string;
  repeat: number;
  seed: number;
  status: 'pending' | 'running' | 'done' | 'failed';
  /** Under the sweep's rule; null while unfinished, or when the run lacks the rule's metric. */
  outcome: Outcome | null;
  /** 1/0 when the database records alive-at-initialisation, else null. */
  aliveAtInit: number | null;
}

/** A stored row as the outcome module's rule reads it (alive_at_init 1/0/NULL → true/false/null). */
function counted(r: SearchRunRow): CountedRun {
  return { status: r.status, outcome: r.outcome, aliveAtInit: r.aliveAtInit === null ? null : r.aliveAtInit === 1 };
}

/** How a run of a search counts under `among`: the outcome module's rule, the one report and compare use. */
export function countOfRow(r: SearchRunRow, among: Among): Count {
  return countOf(counted(r), among);
}

export interface BoundaryState {
  boundary: Boundary;
  observations: Observation[];
  /** Runs asked for and not finished (pending or running): trained before the next decision. */
  unfinished: number;
  /** Every run of this search the database holds, as planned runs (they stay in the plan). */
  existing: PlannedRun[];
  /** Runs recorded failed (status failed: a crash, a timeout, given up): infrastructure, not a run out of n. */
  failed: number;
  /** The next step, when nothing is unfinished (with budgets: the step of the least settled budget). */
  step: SearchStep | undefined;
  /** With `search.budgets`: the same runs scored at each epoch budget, each with its own step and answer. */
  budgets?: BudgetState[];
}

/** One epoch budget of a boundary: its runs' outcomes re-scored at that epoch, and what they say. */
export interface BudgetState {
  epochs: number;
  observations: Observation[];
  step: SearchStep | undefined;
}

/**
 * Which budget the next runs serve: the one whose interval is widest relative to its estimate
 * (an open or missing interval first), among those not done; the first such in budget order on
 * a tie. Deterministic in the observations, so a resumed search places the same probes.
 */
export function leastSettled(steps: readonly SearchStep[]): SearchStep {
  let pick: SearchStep | undefined;
  let widest = -1;
  for (const st of steps) {
    if (st.done) continue;
    const a = st.answer;
    const width = a.estimate !== null && a.ciLow !== null && a.ciHigh !== null ? (a.ciHigh - a.ciLow) / a.estimate : Infinity;
    if (width > widest) {
      widest = width;
      pick = st;
    }
  }
  return pick ?? steps[steps.length - 1]!;
}

/** Cell keys of every value each boundary may probe, to read their runs. */
export function searchCellKeys(plan: SearchPlan): Map<string, { boundary: number; value: number }> {
  const out = new Map<string, { boundary: number; value: number }>();
  plan.boundaries.forEach((b, i) => {
    for (const v of candidateValues(b.settings.lo, b.settings.hi)) out.set(searchCellKey(plan, b, v), { boundary: i, value: v });
  });
  return out;
}

/**
 * @param atBudgets with `search.budgets`: each finished run's outcome at each budget (index i =
 *   spec.search.budgets[i]), re-scored from its stored epochs (store readOutcomesAtBudgets)
 */
export function searchStates(spec: SweepSpec, plan: SearchPlan, rows: readonly SearchRunRow[], atBudgets?: ReadonlyMap<number, readonly (Outcome | null)[]>): BoundaryState[] {
  const where = searchCellKeys(plan);
  const budgets = atBudgets ? (spec.search?.budgets ?? []) : [];
  const states: BoundaryState[] = plan.boundaries.map((boundary) => ({
    boundary,
    observations: [],
    unfinished: 0,
    existing: [],
    failed: 0,
    step: undefined,
    ...(budgets.length ? { budgets: budgets.map((epochs) => ({ epochs, observations: [], step: undefined })) } : {}),
  }));
  for (const r of rows) {
    const at = where.get(r.cellKey);
    // A run of an earlier base seed is another run (its seed is not spec.seed + repeat): not this search's.
    if (!at || r.seed !== spec.seed + r.repeat) continue;
    const st = states[at.boundary]!;
    st.existing.push(searchRun(spec, plan, st.boundary, at.value, r.repeat));
    if (r.status === 'failed') st.failed += 1;
    // Counted by the outcome module's rule under the search's `among`: a run out of n (an
    // infrastructure failure, a run lacking the rule's metric, or one not alive at init when
    // counting alive runs) is observed as 'failed', which costs budget and counts nowhere.
    const count = countOfRow(r, st.boundary.settings.among);
    if (count === 'unfinished') {
      st.unfinished += 1;
      continue;
    }
    st.observations.push({
      value: at.value,
      repeat: r.repeat,
      outcome: inN(count) ? count : 'failed',
      alive: countsAsAlive(counted(r)),
      order: r.id,
    });
    st.budgets?.forEach((b, i) => {
      // The same run, counted by the same rule, scored as if it had stopped after b.epochs.
      const c = countOf({ ...counted(r), outcome: atBudgets!.get(r.id)?.[i] ?? null }, st.boundary.settings.among);
      b.observations.push({ value: at.value, repeat: r.repeat, outcome: inN(c) ? c : 'failed', alive: countsAsAlive(counted(r)), order: r.id });
    });
  }
  for (const st of states) {
    if (st.unfinished > 0) continue;
    if (!st.budgets) {
      st.step = nextSearchStep(st.boundary.settings, st.observations);
      continue;
    }
    const b = budgetedStep(st.boundary.settings, st.observations, st.budgets.map((x) => x.observations));
    st.step = b.step;
    st.budgets.forEach((x, i) => (x.step = b.budgets[i]));
  }
  return states;
}

/**
 * The next step of a search answered at several epoch budgets: `obs` are the runs scored at their
 * last epoch, `perBudget[i]` the same runs scored at budget i. Each answer gets its own step; the
 * runs asked for are those of the least settled one, and the search is done when every answer is.
 * Pure, so the simulation of the validity test drives exactly this.
 */
export function budgetedStep(s: SearchSettings, obs: readonly Observation[], perBudget: readonly (readonly Observation[])[]): { step: SearchStep; budgets: SearchStep[] } {
  const own = nextSearchStep(s, obs);
  const budgets = perBudget.map((o) => nextSearchStep(s, o));
  const pick = leastSettled([...budgets, own]);
  if (!pick.done) return { step: { done: false, runs: pick.runs, answer: own.answer }, budgets };
  return { step: own.done ? own : { done: true, runs: [], answer: own.answer }, budgets };
}
