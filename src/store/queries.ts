import { ConvergeError, EXIT } from '../errors';
import { OUTCOMES } from '../outcome';
import type { EpochRow, RunRow } from '../report/types';
import type { CostParams } from '../grid';
import { PARAM_NAMES, type ParamName, type ParamValue } from '../spec';
import type { Filter } from '../filter';
import { compileFilter, type CompiledFilter } from './filter-sql';
import type { Db } from './open';
import { prepared } from './prepared';
import { ruleColumns, scoredEpochColumns, storedRule } from './rescore';
import { readUserEpochsByRun } from './user-runs';
import { hasUserRuns, readTrainerKind, type TrainerKind } from './trainer-kind';
import type { MetricDirection, RuleEpoch } from '../trainer/types';

export interface SweepInfo {
  name: string;
  specPath: string;
  specHash: string;
  specText: string;
  axes: ParamName[];
  metric: string;
  threshold: number;
  /** The rule's direction and epoch (schema 6); absent: below, at the last epoch. */
  direction?: MetricDirection;
  at?: RuleEpoch;
  /** Whose code trained the sweep's current runs: the built-in LSTM, or a user's module or command. */
  trainer: TrainerKind;
  createdAt: string;
  updatedAt: string;
}

export { readTrainerKind, type TrainerKind } from './trainer-kind';

/** The metric names a user trainer's runs reported, sorted (none for a built-in sweep). */
export function reportedMetrics(db: Db): string[] {
  if (!inSchema(db, 'table', 'epoch_metrics')) return [];
  return db.prepare(`SELECT DISTINCT name FROM run_metrics UNION SELECT DISTINCT name FROM epoch_metrics ORDER BY 1`).pluck().all() as string[];
}

export function readSweep(db: Db, file: string): SweepInfo {
  const row = db
    .prepare(
      `SELECT name, spec_path AS specPath, spec_hash AS specHash, spec_text AS specText, axes, ${ruleColumns(db)},
        created_at AS createdAt, updated_at AS updatedAt FROM sweep WHERE id = 1`,
    )
    .get() as (Omit<SweepInfo, 'axes' | 'direction' | 'at' | 'trainer'> & { axes: string; direction: string | null; at: string | null }) | undefined;
  if (!row) throw new ConvergeError('store.empty', `${file}: holds no sweep yet; run \`converge run <spec> --db ${file}\``, { exitCode: EXIT.store });
  const { direction, at, ...rest } = row;
  const rule = storedRule(row);
  return {
    ...rest,
    ...(rule.direction ? { direction: rule.direction } : {}),
    ...(rule.at ? { at: rule.at } : {}),
    trainer: readTrainerKind(db),
    axes: JSON.parse(row.axes) as ParamName[],
  };
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
  active: { id: number; owner: string | null; epochsDone: number; epochs: number | null; leaseExpired: boolean }[];
  /** Processes holding runs now: how many each has in flight and how many it finished in total. */
  runners: { owner: string; running: number; finished: number }[];
  specVersions: { recordedAt: string; added: number; kept: number; retired: number; changes: string[] }[];
}

/**
 * Readers open read-only and so cannot migrate: a database written by an older converge (or one
 * still being written by an older `converge run`) lacks later columns, and must still be readable.
 */
function hasColumn(db: Db, table: string, column: string): boolean {
  return db.prepare(`SELECT 1 FROM pragma_table_info(?) WHERE name = ?`).get(table, column) !== undefined;
}

/** Whether the schema has this table or index: a read-only reader may open a database of an older schema. */
function inSchema(db: Db, type: 'table' | 'index', name: string): boolean {
  return prepared(db, `SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?`).get(type, name) !== undefined;
}

/** Sweep-wide run counts (every runner's), cheap enough to read every second. */
export interface RunCounts {
  total: number;
  pending: number;
  running: number;
  done: number;
  failed: number;
  converged: number;
}

export function readCounts(db: Db): RunCounts {
  // run_tally (schema 5) is kept by triggers: `run` reads it after every run, so it must not scan.
  if (inSchema(db, 'table', 'run_tally')) {
    const c: RunCounts = { total: 0, pending: 0, running: 0, done: 0, failed: 0, converged: 0 };
    for (const t of prepared(db, `SELECT status, outcome, n FROM run_tally`).all() as { status: string; outcome: string; n: number }[]) {
      c.total += t.n;
      if (t.status === 'pending' || t.status === 'running' || t.status === 'done' || t.status === 'failed') c[t.status] += t.n;
      if (t.outcome === 'converged') c.converged += t.n;
    }
    return c;
  }
  const c = db
    .prepare(
      `SELECT count(*) AS total, coalesce(sum(status = 'pending'), 0) AS pending, coalesce(sum(status = 'running'), 0) AS running,
         coalesce(sum(status = 'done'), 0) AS done, coalesce(sum(status = 'failed'), 0) AS failed,
         coalesce(sum(outcome = 'converged'), 0) AS converged FROM runs WHERE in_plan = 1`,
    )
    .get() as RunCounts;
  return c;
}

export function readProgress(db: Db): Progress {
  const counts = db
    .prepare(`SELECT status, count(*) AS n FROM runs WHERE in_plan = 1 GROUP BY status`)
    .all() as { status: string; n: number }[];
  const by = Object.fromEntries(counts.map((c) => [c.status, c.n])) as Record<string, number>;
  const counted = Object.fromEntries(
    (db.prepare(`SELECT outcome, count(*) AS n FROM runs WHERE in_plan = 1 AND outcome IS NOT NULL GROUP BY outcome`).all() as {
      outcome: string;
      n: number;
    }[]).map((r) => [r.outcome, r.n]),
  ) as Record<string, number>;
  // In the outcome module's display order; outcomes with no run are left out.
  const outcomes = Object.fromEntries(OUTCOMES.filter((o) => counted[o]).map((o) => [o, counted[o]!])) as Record<string, number>;
  const now = Date.now() / 1000;
  const active = (
    db
      .prepare(
        `SELECT r.id, r.owner, r.epochs, r.lease_until AS lease, (SELECT count(*) FROM epochs e WHERE e.run_id = r.id) AS epochsDone
         FROM runs r WHERE r.status = 'running' AND r.in_plan = 1 ORDER BY r.id`,
      )
      .all() as { id: number; owner: string | null; epochs: number | null; lease: number | null; epochsDone: number }[]
  ).map((r) => ({ id: r.id, owner: r.owner, epochsDone: r.epochsDone, epochs: r.epochs, leaseExpired: (r.lease ?? 0) < now }));
  const finishedBy = hasColumn(db, 'runs', 'trained_by')
    ? new Map(
        (db.prepare(`SELECT trained_by AS owner, count(*) AS n FROM runs WHERE in_plan = 1 AND trained_by IS NOT NULL GROUP BY trained_by`).all() as {
          owner: string;
          n: number;
        }[]).map((r) => [r.owner, r.n]),
      )
    : new Map<string, number>();
  const holding = new Map<string, number>();
  for (const a of active) if (a.owner && !a.leaseExpired) holding.set(a.owner, (holding.get(a.owner) ?? 0) + 1);
  const runners = [...holding].map(([owner, running]) => ({ owner, running, finished: finishedBy.get(owner) ?? 0 }));
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
    runners,
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

const num = (v: unknown): number | null => (typeof v === 'number' ? v : null);

/**
 * `cells` shares one frozen parameters object among the runs of a cell (equal cell keys are equal
 * parameters): a sweep of 100,000 runs in 100 cells holds 100 of them, not 100,000.
 */
function toRunRow(r: Record<string, unknown>, cells: Map<unknown, Readonly<Record<string, ParamValue>>>, finals?: Map<number, Record<string, number | null>>): RunRow {
  if (r.trainer !== undefined && r.trainer !== 'builtin') return toUserRunRow(r, cells, finals);
  let params = cells.get(r.cell_key);
  if (!params) {
    const own: Record<string, ParamValue> = {};
    for (const k of PARAM_NAMES) {
      const v = r[k] as ParamValue;
      own[k] = BOOL_PARAMS.has(k) ? Boolean(v) : v;
    }
    cells.set(r.cell_key, (params = Object.freeze(own)));
  }
  return {
    id: r.id as number,
    runKey: r.run_key as string,
    seed: r.seed as number,
    params,
    status: r.status as RunRow['status'],
    outcome: (r.outcome as RunRow['outcome']) ?? null,
    // A database from before schema 4 has no such column: unknown.
    aliveAtInit: r.alive_at_init === undefined || r.alive_at_init === null ? null : r.alive_at_init === 1,
    finalValMae: (r.final_val_mae as number | null) ?? null,
    finalMetrics: {
      loss: num(r.final_loss), mae: num(r.final_mae), val_loss: num(r.final_val_loss), val_mae: num(r.final_val_mae),
      pop_loss: num(r.final_pop_loss), pop_mae: num(r.final_pop_mae), unseen_mae: num(r.final_unseen_mae),
    },
    finalLoss: (r.final_loss as number | null) ?? null,
    convergedEpoch: (r.converged_epoch as number | null) ?? null,
    epochsRun: (r.epochs_run as number | null) ?? null,
    seconds: (r.seconds as number | null) ?? null,
  };
}

/** A user trainer's run: its declared parameters from params_json, its final metrics from run_metrics. */
function toUserRunRow(r: Record<string, unknown>, cells: Map<unknown, Readonly<Record<string, ParamValue>>>, finals?: Map<number, Record<string, number | null>>): RunRow {
  let params = cells.get(r.cell_key);
  if (!params) cells.set(r.cell_key, (params = Object.freeze(JSON.parse(String(r.params_json)) as Record<string, ParamValue>)));
  const finalMetrics = finals?.get(r.id as number) ?? {};
  return {
    id: r.id as number,
    runKey: r.run_key as string,
    seed: r.seed as number,
    params,
    status: r.status as RunRow['status'],
    outcome: (r.outcome as RunRow['outcome']) ?? null,
    aliveAtInit: null,
    trainer: r.trainer as RunRow['trainer'],
    codeHash: (r.code_hash as string | null) ?? null,
    finalValMae: finalMetrics.val_mae ?? null,
    finalMetrics,
    finalLoss: finalMetrics.loss ?? null,
    convergedEpoch: (r.converged_epoch as number | null) ?? null,
    epochsRun: (r.epochs_run as number | null) ?? null,
    seconds: (r.seconds as number | null) ?? null,
  };
}

/** Every user run's final metrics by run id (run_metrics); empty for a database without user runs. */
function readFinals(db: Db): Map<number, Record<string, number | null>> | undefined {
  if (!inSchema(db, 'table', 'run_metrics')) return undefined;
  const out = new Map<number, Record<string, number | null>>();
  for (const m of db.prepare(`SELECT run_id AS id, name, final FROM run_metrics`).iterate() as Iterable<{ id: number; name: string; final: number | null }>) {
    let o = out.get(m.id);
    if (!o) out.set(m.id, (o = {}));
    o[m.name] = m.final;
  }
  return out;
}

/** A run's outcome re-scored at read time (--metric/--threshold/--epoch), keyed by run id. */
export type ScoredOutcomes = ReadonlyMap<number, { outcome: string | null; convergedEpoch: number | null }>;

export interface ReadOptions {
  /** Also runs kept from an earlier version of the spec. @default false */
  includeRetired?: boolean;
  /** Only runs matching this filter (checked and compiled by compileFilter). */
  where?: Filter;
  /**
   * Outcomes scored at read time: `outcome` and `converged_epoch` in `where` mean these, not the
   * stored columns, so a filter selects by the same outcome the report counts.
   */
  scored?: ScoredOutcomes;
}

// The scored outcomes enter SQL as one bound JSON parameter, joined to runs by id.
const SCORED_JOIN = ` LEFT JOIN (SELECT json_extract(value, '$[0]') AS id, json_extract(value, '$[1]') AS outcome, json_extract(value, '$[2]') AS converged_epoch FROM json_each(?)) s ON s.id = r.id`;

function runsWhere(db: Db, o: ReadOptions): { join: string; sql: string; params: unknown[] } {
  const f: CompiledFilter = compileFilter(db, o.where ?? [], 'r', o.scored ? 's' : undefined);
  const join = o.scored ? SCORED_JOIN : '';
  const params: unknown[] = o.scored ? [JSON.stringify([...o.scored].map(([id, s]) => [id, s.outcome, s.convergedEpoch])), ...f.params] : f.params;
  return { join, sql: o.includeRetired ? f.sql : `r.in_plan = 1 AND ${f.sql}`, params };
}

/** The runs of the current plan (retired runs only with `includeRetired`), optionally filtered. */
export function readRuns(db: Db, options: ReadOptions = {}): RunRow[] {
  const w = runsWhere(db, options);
  // Row by row: holding every raw row (each column of runs) beside its RunRow doubled the peak
  // memory of reading a big sweep (`run`'s summary, `report`).
  const runs: RunRow[] = [];
  const cells = new Map<unknown, Readonly<Record<string, ParamValue>>>();
  const finals = (options.includeRetired ? hasUserRuns(db) : readTrainerKind(db) !== 'builtin') ? readFinals(db) : undefined;
  for (const r of db.prepare(`SELECT r.* FROM runs r${w.join} WHERE ${w.sql} ORDER BY r.id`).iterate(...w.params) as Iterable<Record<string, unknown>>) runs.push(toRunRow(r, cells, finals));
  return runs;
}

/** The ids of the runs a filter selects (with `scored`, by their re-scored outcomes). */
export function selectRunIds(db: Db, options: ReadOptions): Set<number> {
  const w = runsWhere(db, options);
  return new Set(db.prepare(`SELECT r.id FROM runs r${w.join} WHERE ${w.sql}`).pluck().all(...w.params) as number[]);
}

export function readEpochs(db: Db, options: ReadOptions = {}): EpochRow[] {
  const w = runsWhere(db, options);
  // A user trainer's epochs are metric rows: read apart and merged in run order.
  const user = options.includeRetired ? hasUserRuns(db) : readTrainerKind(db) !== 'builtin';
  const builtin = db
    .prepare(
      `SELECT e.run_id AS runId, ${scoredEpochColumns(db, 'e')}, e.seconds
       FROM epochs e JOIN runs r ON r.id = e.run_id${w.join} WHERE ${w.sql}${user ? ` AND r.trainer = 'builtin'` : ''} ORDER BY e.run_id, e.epoch`,
    )
    .all(...w.params) as EpochRow[];
  if (!user) return builtin;
  const ids = [...selectRunIds(db, options)];
  const byRun = readUserEpochsByRun(db, ids);
  const rows: EpochRow[] = [...builtin];
  for (const [runId, list] of byRun) for (const e of list) rows.push({ ...e, runId });
  return rows.sort((a, b) => a.runId - b.runId || a.epoch - b.epoch);
}

/** How many runs the current plan has: the denominator of "the filter matches none of N runs". */
export function countRuns(db: Db): number {
  return db.prepare(`SELECT count(*) FROM runs WHERE in_plan = 1`).pluck().get() as number;
}

/** Columns `query --where` prints, in this order (cell_key and the bookkeeping columns are left out). */
const QUERY_COLUMNS = [
  'id', 'run_key', 'in_plan', 'seed', 'repeat', ...PARAM_NAMES, 'backend', 'status', 'outcome',
  'final_loss', 'final_mae', 'final_val_loss', 'final_val_mae', 'final_pop_loss', 'final_pop_mae', 'final_unseen_mae', 'alive_at_init',
  'converged_epoch', 'epochs_run', 'seconds', 'error', 'attempts',
];

/**
 * Runs of the current plan matching `filter`, as rows of the `runs` table; with `scored`, the
 * outcome and converged_epoch columns (and the filter on them) are the re-scored ones.
 */
export function queryRuns(db: Db, filter: Filter, scored?: ScoredOutcomes): Record<string, unknown>[] {
  const w = runsWhere(db, { where: filter, scored });
  if (readTrainerKind(db) !== 'builtin') {
    const cols = userQueryColumns(db, scored !== undefined);
    return db.prepare(`SELECT ${cols.sql.join(', ')} FROM runs r${w.join} WHERE ${w.sql} ORDER BY r.id`).all(...cols.params, ...w.params) as Record<string, unknown>[];
  }
  // A database from before schema 4 lacks the newer columns: they read as NULL.
  const cols = QUERY_COLUMNS.map((c) => {
    if (scored && c === 'outcome') return `s.outcome AS outcome`;
    if (scored && c === 'converged_epoch') return `s.converged_epoch AS converged_epoch`;
    return hasColumn(db, 'runs', c) ? `r."${c}"` : `NULL AS "${c}"`;
  });
  return db.prepare(`SELECT ${cols.join(', ')} FROM runs r${w.join} WHERE ${w.sql} ORDER BY r.id`).all(...w.params) as Record<string, unknown>[];
}

/**
 * The columns `query` prints for a user trainer's sweep: identity, each declared parameter (from
 * params_json), status and outcome, `final_<name>` for each reported metric, then the bookkeeping
 * and the code that trained the run. Names and metric names are bound, never pasted in.
 */
function userQueryColumns(db: Db, scored: boolean): { sql: string[]; params: string[] } {
  const names = db
    .prepare(`SELECT DISTINCT j.key FROM runs r, json_each(r.params_json) j WHERE r.in_plan = 1 AND r.trainer <> 'builtin' ORDER BY 1`)
    .pluck()
    .all() as string[];
  const metrics = db.prepare(`SELECT DISTINCT name FROM run_metrics ORDER BY 1`).pluck().all() as string[];
  const quote = (n: string) => `"${n.replace(/"/g, '""')}"`;
  const taken = new Set(['id', 'run_key', 'in_plan', 'seed', 'repeat', 'trainer', 'status', 'outcome', 'converged_epoch', 'epochs_run', 'seconds', 'error', 'attempts', 'code_hash', 'device']);
  const sql = ['r.id', 'r.run_key', 'r.in_plan', 'r.seed', 'r.repeat'];
  const params: string[] = [];
  // A declared parameter named like a bookkeeping column is shown as param_<name>.
  for (const n of names) {
    sql.push(`json_extract(r.params_json, ?) AS ${quote(taken.has(n) ? `param_${n}` : n)}`);
    params.push(`$.${JSON.stringify(n)}`);
  }
  sql.push('r.trainer', 'r.status', scored ? 's.outcome AS outcome' : 'r.outcome');
  for (const m of metrics) {
    sql.push(`(SELECT final FROM run_metrics fm WHERE fm.run_id = r.id AND fm.name = ?) AS ${quote(`final_${m}`)}`);
    params.push(m);
  }
  sql.push(scored ? 's.converged_epoch AS converged_epoch' : 'r.converged_epoch', 'r.epochs_run', 'r.seconds', 'r.error', 'r.attempts', 'r.code_hash', 'r.device');
  return { sql, params };
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

/**
 * What the time left is estimated from (sweep/eta.ts): runs left, when the latest runs of the
 * plan finished (whoever trained them), and the unfinished runs by the parameters of the cost model.
 */
export interface SweepPace {
  remaining: number;
  /** Unix seconds, ascending. */
  recentFinishes: number[];
  unfinished: { params: CostParams; count: number }[];
}

export function readSweepPace(db: Db, recent = 50): SweepPace {
  // `run` reads the pace after every run: the latest finishes come from runs_finished (schema 5)
  // and the count from run_tally; the unfinished runs' parameters, a scan, only when asked for
  // (sweep/eta.ts needs them only before two runs finished).
  const byFinish = inSchema(db, 'index', 'runs_finished') ? ' INDEXED BY runs_finished' : '';
  const finishes = (
    prepared(db, `SELECT finished_at FROM runs${byFinish} WHERE in_plan = 1 AND status = 'done' AND finished_at IS NOT NULL ORDER BY finished_at DESC LIMIT ?`)
      .pluck()
      .all(recent) as string[]
  )
    .map((t) => Date.parse(t) / 1000)
    .filter(Number.isFinite)
    .reverse();
  const counts = readCounts(db);
  let unfinished: SweepPace['unfinished'] | undefined;
  return {
    remaining: counts.pending + counts.running,
    recentFinishes: finishes,
    get unfinished() {
      return (unfinished ??= readUnfinished(db));
    },
  };
}

/** A user trainer's runs have no cost model (no engine): they are left out, and the pace comes from finished runs. */
function readUnfinished(db: Db): SweepPace['unfinished'] {
  const groups = db
    .prepare(
      `SELECT engine, seq_len, n_samples, test_fraction, epochs, batch_size, masking, count(*) AS n FROM runs
       WHERE in_plan = 1 AND status IN ('pending', 'running') AND engine IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7`,
    )
    .all() as (Omit<CostParams, 'masking'> & { masking: number; n: number })[];
  return groups.map(({ n, masking, ...p }) => ({ params: { ...p, masking: Boolean(masking) }, count: n }));
}
