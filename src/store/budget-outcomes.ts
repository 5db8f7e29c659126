import { scoreStoredRun, type Outcome, type OutputActivation, type Rule, type ScoredEpoch } from '../outcome';
import type { Db } from './open';
import { scoredEpochColumns } from './rescore';

/**
 * The outcome of each finished run at each epoch budget, re-scored from its stored epochs (no
 * training): a search with `budgets:` answers every budget from the same runs. Unfinished runs
 * are left out. Index i of a run's list is the outcome at budgets[i].
 */
export function readOutcomesAtBudgets(db: Db, runIds: readonly number[], rule: Rule, budgets: readonly number[]): Map<number, (Outcome | null)[]> {
  const out = new Map<number, (Outcome | null)[]>();
  if (runIds.length === 0) return out;
  const runOf = db.prepare(`SELECT status, outcome, alive_at_init AS alive, output_activation AS outputActivation FROM runs WHERE id = ?`);
  const epochsOf = db.prepare(`SELECT ${scoredEpochColumns(db)} FROM epochs WHERE run_id = ? ORDER BY epoch`);
  db.transaction(() => {
    for (const id of runIds) {
      const r = runOf.get(id) as { status: 'pending' | 'running' | 'done' | 'failed'; outcome: Outcome | null; alive: number | null; outputActivation: OutputActivation } | undefined;
      if (!r || r.status === 'pending' || r.status === 'running') continue;
      const epochs = epochsOf.all(id) as ScoredEpoch[];
      const run = { status: r.status, outcome: r.outcome, aliveAtInit: r.alive === null ? null : r.alive === 1, outputActivation: r.outputActivation };
      out.set(id, budgets.map((b) => scoreStoredRun(run, epochs, rule, b).outcome));
    }
  })();
  return out;
}
