/**
 * From the runs a database holds to the state of every boundary's search: its observations, the
 * runs asked for but not finished, and — when all are finished — the next step. Pure, so the
 * runner, the report and the tests compute the same thing from the same rows.
 */
import type { PlannedRun } from '../grid';
import { countOf, countsAsAlive, inN, type Among, type Count, type CountedRun, type Outcome } from '../outcome';
import type { SweepSpec } from '../spec';
import { candidateValues, nextSearchStep, type Observation, type SearchStep } from './boundary';
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
  /** The next step, when nothing is unfinished. */
  step: SearchStep | undefined;
}

/** Cell keys of every value each boundary may probe, to read their runs. */
export function searchCellKeys(plan: SearchPlan): Map<string, { boundary: number; value: number }> {
  const out = new Map<string, { boundary: number; value: number }>();
  plan.boundaries.forEach((b, i) => {
    for (const v of candidateValues(b.settings.lo, b.settings.hi)) out.set(searchCellKey(plan, b, v), { boundary: i, value: v });
  });
  return out;
}

export function searchStates(spec: SweepSpec, plan: SearchPlan, rows: readonly SearchRunRow[]): BoundaryState[] {
  const where = searchCellKeys(plan);
  const states: BoundaryState[] = plan.boundaries.map((boundary) => ({ boundary, observations: [], unfinished: 0, existing: [], failed: 0, step: undefined }));
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
  }
  for (const st of states) if (st.unfinished === 0) st.step = nextSearchStep(st.boundary.settings, st.observations);
  return states;
}
