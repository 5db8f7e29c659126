import { ConvergeError, EXIT } from '../errors';
import { sameSpec } from '../spec';
import type { Db } from './open';

export interface MergeResult {
  inputs: number;
  runsAdded: number;
  runsReplaced: number;
  runsSkipped: number;
  epochsCopied: number;
}

const RUN_COLS_SQL = `SELECT name FROM pragma_table_info('runs') WHERE name <> 'id'`;

/**
 * How finished a copy of a run is: a shard database holds the whole plan (so its `in_plan` is
 * right) but trains only its share, so the same run appears pending in one shard and done in
 * another; the most finished copy wins, wherever it was trained.
 */
const STATUS_RANK: Record<string, number> = { pending: 0, running: 0, failed: 1, done: 2 };

/**
 * Union shard databases of one sweep into `out`. Sweeps are matched by spec (sameSpec), runs by
 * run_key: a run present in several inputs is kept once (a done copy wins over a failed one, a
 * failed one over a pending one), so merging is idempotent and order-independent for finished runs.
 */
export function mergeInto(out: Db, outFile: string, inputs: { db: Db; file: string }[]): MergeResult {
  const res: MergeResult = { inputs: inputs.length, runsAdded: 0, runsReplaced: 0, runsSkipped: 0, epochsCopied: 0 };
  const cols = out.prepare(RUN_COLS_SQL).pluck().all() as string[];
  const insertRun = out.prepare(`INSERT INTO runs (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`);
  // Every column the output has; a shard written by an older converge lacks the newer ones (NULL).
  const epochCols = out.prepare(`SELECT name FROM pragma_table_info('epochs')`).pluck().all() as string[];
  const insertEpoch = out.prepare(`INSERT INTO epochs (${epochCols.join(', ')}) VALUES (${epochCols.map((c) => `@${c}`).join(', ')})`);
  const insertMetric = out.prepare(`INSERT INTO epoch_metrics (run_id, epoch, name, value) VALUES (?, ?, ?, ?)`);
  const insertFinal = out.prepare(`INSERT INTO run_metrics (run_id, name, final, best, best_epoch) VALUES (?, ?, ?, ?, ?)`);
  out
    .transaction(() => {
      let outSweep = out.prepare(`SELECT * FROM sweep WHERE id = 1`).get() as Record<string, unknown> | undefined;
      for (const input of inputs) {
        const sweep = input.db.prepare(`SELECT * FROM sweep WHERE id = 1`).get() as Record<string, unknown> | undefined;
        if (!sweep) throw new ConvergeError('merge.empty', `${input.file}: holds no sweep; nothing to merge`, { exitCode: EXIT.badInput });
        if (!outSweep) {
          // The output's columns; an input from an older schema lacks the later ones (NULL).
          const sweepCols = out.prepare(`SELECT name FROM pragma_table_info('sweep')`).pluck().all() as string[];
          out.prepare(`INSERT INTO sweep (${sweepCols.join(', ')}) VALUES (${sweepCols.map((c) => `@${c}`).join(', ')})`).run(Object.fromEntries(sweepCols.map((c) => [c, sweep[c] ?? null])));
          out.prepare(`INSERT INTO spec_versions (spec_hash, spec_text, recorded_at, runs_added, runs_kept, runs_retired) VALUES (?, ?, ?, 0, 0, 0)`).run(sweep.spec_hash, sweep.spec_text, new Date().toISOString());
          outSweep = sweep;
        } else if (
          outSweep.name !== sweep.name ||
          !sameSpec({ hash: String(outSweep.spec_hash), text: String(outSweep.spec_text) }, { hash: String(sweep.spec_hash), text: String(sweep.spec_text) })
        ) {
          throw new ConvergeError(
            'merge.otherSweep',
            `${input.file}: is sweep "${String(sweep.name)}" (spec ${String(sweep.spec_hash).slice(0, 12)}), but ${outFile} holds "${String(outSweep.name)}" (spec ${String(outSweep.spec_hash).slice(0, 12)}); only shards of one sweep (same spec) can be merged`,
            { exitCode: EXIT.badInput },
          );
        }
        const epochsOf = input.db.prepare(`SELECT * FROM epochs WHERE run_id = ? ORDER BY epoch`);
        // A user trainer's metrics (schema 6); an input from before it has none.
        const hasMetrics = input.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'epoch_metrics'`).get() !== undefined;
        const metricsOf = hasMetrics ? input.db.prepare(`SELECT epoch, name, value FROM epoch_metrics WHERE run_id = ?`) : undefined;
        const finalsOf = hasMetrics ? input.db.prepare(`SELECT name, final, best, best_epoch FROM run_metrics WHERE run_id = ?`) : undefined;
        for (const row of input.db.prepare(`SELECT * FROM runs ORDER BY id`).iterate() as Iterable<Record<string, unknown>>) {
          const existing = out.prepare(`SELECT id, status FROM runs WHERE run_key = ?`).get(row.run_key) as { id: number; status: string } | undefined;
          if (existing) {
            if ((STATUS_RANK[String(row.status)] ?? 0) <= (STATUS_RANK[existing.status] ?? 0)) {
              res.runsSkipped += 1;
              continue;
            }
            out.prepare(`DELETE FROM runs WHERE id = ?`).run(existing.id); // epochs go by ON DELETE CASCADE
            res.runsReplaced += 1;
          } else {
            res.runsAdded += 1;
          }
          const copy: Record<string, unknown> = {};
          for (const c of cols) copy[c] = row[c] ?? null; // an input from an older schema lacks later columns
          if (copy.status === 'running') Object.assign(copy, { status: 'pending', owner: null, lease_until: null });
          const newId = Number(insertRun.run(copy).lastInsertRowid);
          if (row.status === 'running') continue;
          for (const e of epochsOf.iterate(row.id) as Iterable<Record<string, unknown>>) {
            const copyEpoch: Record<string, unknown> = {};
            for (const c of epochCols) copyEpoch[c] = e[c] ?? null;
            insertEpoch.run({ ...copyEpoch, run_id: newId });
            res.epochsCopied += 1;
          }
          for (const m of (metricsOf?.iterate(row.id) ?? []) as Iterable<{ epoch: number; name: string; value: number | null }>) insertMetric.run(newId, m.epoch, m.name, m.value);
          for (const m of (finalsOf?.iterate(row.id) ?? []) as Iterable<{ name: string; final: number | null; best: number | null; best_epoch: number | null }>) {
            insertFinal.run(newId, m.name, m.final, m.best, m.best_epoch);
          }
        }
      }
    })
    .immediate();
  return res;
}
