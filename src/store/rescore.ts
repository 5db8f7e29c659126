import { scoreStoredRun, type Outcome, type OutputActivation, type Rule, type ScoredEpoch } from '../outcome';
import type { Db } from './open';
import { prepared } from './prepared';
import { readUserEpochsByRun } from './user-runs';
import { scoreUserRun } from '../outcome';

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

function hasSweepColumn(db: Db, c: string): boolean {
  return prepared(db, `SELECT 1 FROM pragma_table_info('sweep') WHERE name = ?`).get(c) !== undefined;
}

/** The SELECT list of the sweep's rule (direction and epoch from schema 6; NULL before: below, last). */
export function ruleColumns(db: Db): string {
  const dir = hasSweepColumn(db, 'converged_direction') ? 'converged_direction' : 'NULL';
  const at = hasSweepColumn(db, 'converged_at') ? 'converged_at' : 'NULL';
  return `converged_metric AS metric, converged_threshold AS threshold, ${dir} AS direction, ${at} AS at`;
}

/** A rule as stored in the sweep row, with absent direction/epoch left out. */
export function storedRule(row: { metric: string; threshold: number; direction?: string | null; at?: string | null }): Rule {
  const rule: Rule = { metric: row.metric, threshold: row.threshold };
  if (row.direction === 'above' || row.direction === 'below') rule.direction = row.direction;
  if (row.at === 'best' || row.at === 'last') rule.at = row.at;
  return rule;
}

/** The sweep's recorded rule, or undefined for a database with no sweep yet. */
export function currentRule(db: Db): Rule | undefined {
  const row = prepared(db, `SELECT ${ruleColumns(db)} FROM sweep WHERE id = 1`).get() as Parameters<typeof storedRule>[0] | undefined;
  return row ? storedRule(row) : undefined;
}

/** Same metric, threshold, direction and epoch (absent direction = below, absent epoch = last). */
export function sameStoredRule(a: Rule, b: Rule): boolean {
  return a.metric === b.metric && a.threshold === b.threshold && (a.direction ?? 'below') === (b.direction ?? 'below') && (a.at ?? 'last') === (b.at ?? 'last');
}

/**
 * Re-score every finished run of the sweep under `rule` from its stored epochs, writing
 * runs.outcome and runs.converged_epoch (no training). Call inside the transaction that records
 * the rule, so the columns always match sweep.converged_metric/threshold. Returns how many
 * finished runs were scored (changed or not); `only` limits it to one run id. A user trainer's
 * run is scored from its epoch_metrics.
 */
export function rescoreAll(db: Db, rule: Rule, only?: number): number {
  const hasTrainer = prepared(db, `SELECT 1 FROM pragma_table_info('runs') WHERE name = 'trainer'`).get() !== undefined;
  const runs = db
    .prepare(
      `SELECT id, status, outcome, alive_at_init AS alive, output_activation AS outputActivation, ${hasTrainer ? 'trainer' : `'builtin'`} AS trainer FROM runs
       WHERE status IN ('done', 'failed') AND (@only IS NULL OR id = @only) ORDER BY id`,
    )
    .all({ only: only ?? null }) as { id: number; status: 'done' | 'failed'; outcome: Outcome | null; alive: number | null; outputActivation: OutputActivation; trainer: string }[];
  const epochsOf = db.prepare(`SELECT ${scoredEpochColumns(db)} FROM epochs WHERE run_id = ? ORDER BY epoch`);
  const update = db.prepare(`UPDATE runs SET outcome = ?, converged_epoch = ? WHERE id = ?`);
  const user = runs.some((r) => r.trainer !== 'builtin') ? readUserEpochsByRun(db, only === undefined ? undefined : [only]) : new Map<number, ScoredEpoch[]>();
  for (const r of runs) {
    if (r.trainer !== 'builtin') {
      const failure = r.status === 'failed' ? (r.outcome === 'timed_out' ? 'timed_out' : 'failed') : null;
      const s = scoreUserRun(user.get(r.id) ?? [], rule, undefined, failure);
      update.run(s.outcome, s.convergedEpoch, r.id);
      continue;
    }
    const epochs = epochsOf.all(r.id) as ScoredEpoch[];
    const s = scoreStoredRun({ status: r.status, outcome: r.outcome, aliveAtInit: r.alive === null ? null : r.alive === 1, outputActivation: r.outputActivation }, epochs, rule);
    update.run(s.outcome, s.convergedEpoch, r.id);
  }
  return runs.length;
}
