import { scoreStoredRun, type Outcome, type OutputActivation, type Rule, type ScoredEpoch } from '../outcome';
import type { Db } from './open';

/**
 * Columns of `epochs` as ScoredEpoch fields. A database written before schema 4 (read by a
 * read-only reader, which cannot migrate) lacks the population columns: they read as NULL.
 */
export function scoredEpochColumns(db: Db, alias = ''): string {
  const has = (c: string) => db.prepare(`SELECT 1 FROM pragma_table_info('epochs') WHERE name = ?`).get(c) !== undefined;
  const p = alias ? `${alias}.` : '';
  const opt = (c: string, as: string) => (has(c) ? `${p}${c} AS ${as}` : `NULL AS ${as}`);
  return [
    `${p}epoch AS epoch`, `${p}loss AS loss`, `${p}mae AS mae`, `${p}val_loss AS valLoss`, `${p}val_mae AS valMae`,
    opt('pop_loss', 'popLoss'), opt('pop_mae', 'popMae'), opt('unseen_mae', 'unseenMae'), opt('pop_max_output', 'popMaxOutput'),
  ].join(', ');
}

/**
 * Re-score every finished run of the sweep under `rule` from its stored epochs, writing
 * runs.outcome and runs.converged_epoch (no training). Call inside the transaction that records
 * the rule, so the columns always match sweep.converged_metric/threshold. Returns how many
 * finished runs were scored (changed or not); `only` limits it to one run id.
 */
export function rescoreAll(db: Db, rule: Rule, only?: number): number {
  const runs = db
    .prepare(
      `SELECT id, status, outcome, alive_at_init AS alive, output_activation AS outputActivation FROM runs
       WHERE status IN ('done', 'failed') AND (@only IS NULL OR id = @only) ORDER BY id`,
    )
    .all({ only: only ?? null }) as { id: number; status: 'done' | 'failed'; outcome: Outcome | null; alive: number | null; outputActivation: OutputActivation }[];
  const epochsOf = db.prepare(`SELECT ${scoredEpochColumns(db)} FROM epochs WHERE run_id = ? ORDER BY epoch`);
  const update = db.prepare(`UPDATE runs SET outcome = ?, converged_epoch = ? WHERE id = ?`);
  for (const r of runs) {
    const epochs = epochsOf.all(r.id) as ScoredEpoch[];
    const s = scoreStoredRun({ status: r.status, outcome: r.outcome, aliveAtInit: r.alive === null ? null : r.alive === 1, outputActivation: r.outputActivation }, epochs, rule);
    update.run(s.outcome, s.convergedEpoch, r.id);
  }
  return runs.length;
}
