import { ConvergeError, EXIT } from '../errors';
import type { EpochRow, RunRow } from '../report/types';
import { PARAM_NAMES, type ParamName, type ParamValue } from '../spec';
import type { Filter } from '../filter';
import { compileFilter, type CompiledFilter } from './filter-sql';
import type { Db } from './open';

export interface SweepInfo {
  name: string;
  specPath: string;
  specHash: string;
  specText: string;
  axes: ParamName[];
  metric: string;
  threshold: number;
  createdAt: string;
  updatedAt: string;
}

export function readSweep(db: Db, file: string): SweepInfo {
  const row = db
    .prepare(
      `SELECT name, spec_path AS specPath, spec_hash AS specHash, spec_text AS specText, axes, converged_metric AS metric,
        converged_threshold AS threshold, created_at AS createdAt, updated_at AS updatedAt FROM sweep WHERE id = 1`,
    )
    .get() as (Omit<SweepInfo, 'axes'> & { axes: string }) | undefined;
  if (!row) throw new ConvergeError('store.empty', `${file}: holds no sweep yet; run \`converge run <spec> --db ${file}\``, { exitCode: EXIT.store });
  return { ...row, axes: JSON.parse(row.axes) as ParamName[] };
}

export interface Progress {
  total: number;
  pending: number;
  running: number;
  done: number;
  failed: number;
  outcomes: Record<string, number>;
  /** Runs kept from an earlier version of the spec (not counted above). */
  retired: number;
  epochsRecorded: number;
  /** Mean seconds of a finished run, for an ETA. */
  meanRunSeconds: number | null;
  active: { id: number; owner: string | null; epochsDone: number; epochs: number; leaseExpired: boolean }[];
  specVersions: { recordedAt: string; added: number; kept: number; retired: number; changes: string[] }[];
}

/**
 * Readers open read-only and so cannot migrate: a database written by an older converge (or one
 * still being written by an older `converge run`) lacks later columns, and must still be readable.
 */
function hasColumn(db: Db, table: string, column: string): boolean {
  return db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`).get(table, column) !== undefined;
}

export function readProgress(db: Db): Progress {
  const counts = db
    .prepare(`SELECT status, count(*) AS n FROM runs WHERE in_plan = 1 GROUP BY status`)
    .all() as { status: string; n: number }[];
  const by = Object.fromEntries(counts.map((c) => [c.status, c.n])) as Record<string, number>;
  const outcomes = Object.fromEntries(
    (db.prepare(`SELECT outcome, count(*) AS n FROM runs WHERE in_plan = 1 AND outcome IS NOT NULL GROUP BY outcome`).all() as {
      outcome: string;
      n: number;
    }[]).map((r) => [r.outcome, r.n]),
  ) as Record<string, number>;
  const now = Date.now() / 1000;
  const active = (
    db
      .prepare(
        `SELECT r.id, r.owner, r.epochs, r.lease_until AS lease, (SELECT count(*) FROM epochs e WHERE e.run_id = r.id) AS epochsDone
         FROM runs r WHERE r.status = 'running' AND r.in_plan = 1 ORDER BY r.id`,
      )
      .all() as { id: number; owner: string | null; epochs: number; lease: number | null; epochsDone: number }[]
  ).map((r) => ({ id: r.id, owner: r.owner, epochsDone: r.epochsDone, epochs: r.epochs, leaseExpired: (r.lease ?? 0) < now }));
  return {
    total: counts.reduce((s, c) => s + c.n, 0),
    pending: by.pending ?? 0,
    running: by.running ?? 0,
    done: by.done ?? 0,
    failed: by.failed ?? 0,
    outcomes,
    retired: db.prepare(`SELECT count(*) FROM runs WHERE in_plan = 0`).pluck().get() as number,
    epochsRecorded: db.prepare(`SELECT count(*) FROM epochs`).pluck().get() as number,
    meanRunSeconds: db.prepare(`SELECT avg(seconds) FROM runs WHERE status = 'done' AND in_plan = 1`).pluck().get() as number | null,
    active,
    specVersions: (
      db
        .prepare(
          `SELECT recorded_at AS recordedAt, runs_added AS added, runs_kept AS kept, runs_retired AS retired,
             ${hasColumn(db, 'spec_versions', 'changes') ? 'changes' : `'[]' AS changes`} FROM spec_versions ORDER BY id`,
        )
        .all() as (Omit<Progress['specVersions'][number], 'changes'> & { changes: string })[]
    ).map((v) => ({ ...v, changes: JSON.parse(v.changes) as string[] })),
  };
}

const BOOL_PARAMS = new Set<ParamName>(['unit_forget_bias', 'masking', 'shuffle']);

function toRunRow(r: Record<string, unknown>): RunRow {
  const params: Record<string, ParamValue> = {};
  for (const k of PARAM_NAMES) {
    const v = r[k] as ParamValue;
    params[k] = BOOL_PARAMS.has(k) ? Boolean(v) : v;
  }
  return {
    id: r.id as number,
    runKey: r.run_key as string,
    seed: r.seed as number,
    params,
    status: r.status as RunRow['status'],
    outcome: (r.outcome as RunRow['outcome']) ?? null,
    finalValMae: (r.final_val_mae as number | null) ?? null,
    finalLoss: (r.final_loss as number | null) ?? null,
    convergedEpoch: (r.converged_epoch as number | null) ?? null,
    epochsRun: (r.epochs_run as number | null) ?? null,
    seconds: (r.seconds as number | null) ?? null,
  };
}

export interface ReadOptions {
  /** Also runs kept from an earlier version of the spec. @default false */
  includeRetired?: boolean;
  /** Only runs matching this filter (checked and compiled by compileFilter). */
  where?: Filter;
}

function runsWhere(db: Db, o: ReadOptions, alias: string): CompiledFilter {
  const f = compileFilter(db, o.where ?? [], alias);
  return { sql: o.includeRetired ? f.sql : `${alias}.in_plan = 1 AND ${f.sql}`, params: f.params };
}

/** The runs of the current plan (retired runs only with `includeRetired`), optionally filtered. */
export function readRuns(db: Db, options: ReadOptions = {}): RunRow[] {
  const w = runsWhere(db, options, 'r');
  const rows = db.prepare(`SELECT r.* FROM runs r WHERE ${w.sql} ORDER BY r.id`).all(...w.params) as Record<string, unknown>[];
  return rows.map(toRunRow);
}

export function readEpochs(db: Db, options: ReadOptions = {}): EpochRow[] {
  const w = runsWhere(db, options, 'r');
  return db
    .prepare(
      `SELECT e.run_id AS runId, e.epoch, e.loss, e.mae, e.val_loss AS valLoss, e.val_mae AS valMae, e.seconds
       FROM epochs e JOIN runs r ON r.id = e.run_id WHERE ${w.sql} ORDER BY e.run_id, e.epoch`,
    )
    .all(...w.params) as EpochRow[];
}

/** How many runs the current plan has: the denominator of "the filter matches none of N runs". */
export function countRuns(db: Db): number {
  return db.prepare(`SELECT count(*) FROM runs WHERE in_plan = 1`).pluck().get() as number;
}

/** Columns `query --where` prints, in this order (cell_key and the bookkeeping columns are left out). */
const QUERY_COLUMNS = ['id', 'run_key', 'in_plan', 'seed', 'repeat', ...PARAM_NAMES, 'backend', 'status', 'outcome',
  'final_loss', 'final_mae', 'final_val_loss', 'final_val_mae', 'converged_epoch', 'epochs_run', 'seconds', 'error', 'attempts'];

/** Runs of the current plan matching `filter`, as raw rows of the `runs` table. */
export function queryRuns(db: Db, filter: Filter): Record<string, unknown>[] {
  const w = runsWhere(db, { where: filter }, 'r');
  const cols = QUERY_COLUMNS.filter((c) => hasColumn(db, 'runs', c)).map((c) => `r."${c}"`).join(', ');
  return db.prepare(`SELECT ${cols} FROM runs r WHERE ${w.sql} ORDER BY r.id`).all(...w.params) as Record<string, unknown>[];
}

/** Run a user's SQL on a read-only connection; a statement that would write is refused before it runs. */
export function querySql(db: Db, sql: string): Record<string, unknown>[] {
  let stmt;
  try {
    stmt = db.prepare(sql);
  } catch (e) {
    throw new ConvergeError('query.sql', `--sql: ${(e as Error).message}`);
  }
  if (!stmt.readonly) {
    throw new ConvergeError('query.readOnly', `--sql: refused: the statement would modify the database; query only reads (use SELECT)`);
  }
  if (!stmt.reader) return [];
  // Rows as arrays, so that two result columns with one name ("select a.x, b.x") both survive;
  // the second becomes x_2, keeping CSV headers and JSON keys unique.
  const names = uniqueNames(stmt.columns().map((c) => c.name));
  return (stmt.raw(true).all() as unknown[][]).map((row) => Object.fromEntries(names.map((n, i) => [n, row[i]])));
}

/** Make column names unique: a repeated name gets _2, _3, … (skipping names already taken). */
export function uniqueNames(names: readonly string[]): string[] {
  const taken = new Set<string>();
  return names.map((n) => {
    let name = n;
    for (let i = 2; taken.has(name); i++) name = `${n}_${i}`;
    taken.add(name);
    return name;
  });
}
