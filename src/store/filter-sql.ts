/**
 * The filter language (src/filter) compiled to SQL: names are checked against a whitelist of
 * `runs` columns and values are bound as parameters, never pasted into the statement.
 */
import { didYouMean, ConvergeError } from '../errors';
import type { Filter, FilterClause, FilterOp } from '../filter';
import { OUTCOMES } from '../outcome';
import { PARAM_NAMES } from '../spec';
import type { Db } from './open';
import { readTrainerKind } from './trainer-kind';

/** The `runs` columns a filter may name: identity, every parameter, status and outcome, the final metrics. */
export const FILTER_COLUMNS: readonly string[] = [
  'id', 'run_key', 'seed', 'repeat', ...PARAM_NAMES, 'backend', 'status', 'outcome',
  'final_loss', 'final_mae', 'final_val_loss', 'final_val_mae', 'converged_epoch', 'epochs_run', 'seconds', 'attempts',
];

/** Columns that later schema versions add (3: population metrics); offered only where the database has them. */
const LATER_COLUMNS: readonly string[] = ['final_pop_loss', 'final_pop_mae', 'final_unseen_mae', 'alive_at_init'];

/** Names whose value is the run's score under a rule: with read-time scoring they mean the re-scored values. */
const SCORED_COLUMNS = new Set(['outcome', 'converged_epoch']);

/** 0/1 columns: `masking=true` means `masking = 1`. */
const BOOLEAN_COLUMNS = new Set(['unit_forget_bias', 'masking', 'shuffle', 'alive_at_init']);

/** Columns with a closed set of values: a misspelt value is refused instead of matching nothing. */
const CLOSED_VALUES: Record<string, readonly string[]> = {
  outcome: OUTCOMES,
  status: ['pending', 'running', 'done', 'failed'],
};

interface ColumnInfo {
  name: string;
  numeric: boolean;
  boolean?: boolean;
  /** The SQL of a name that is not a column of runs (`{a}` is the alias prefix), with its bound parameter. */
  expr?: { sql: (a: string) => string; param: string };
}

/** Columns of runs a user trainer's run has (its parameters and metrics are data, not columns). */
const USER_RUN_COLUMNS: readonly string[] = ['id', 'run_key', 'seed', 'repeat', 'status', 'outcome', 'converged_epoch', 'epochs_run', 'seconds', 'attempts', 'trainer', 'code_hash', 'device'];

/**
 * A user trainer's names: its declared parameters (keys of params_json, read with json_extract),
 * and `final_<name>` for every metric its runs reported (run_metrics.final), beside the columns
 * a user run has. Undefined for a database without user runs.
 */
function userColumns(db: Db): Map<string, ColumnInfo> | undefined {
  if (readTrainerKind(db) === 'builtin') return undefined;
  const out = new Map<string, ColumnInfo>();
  const numericCols = new Set(['id', 'seed', 'repeat', 'converged_epoch', 'epochs_run', 'seconds', 'attempts']);
  for (const name of USER_RUN_COLUMNS) out.set(name, { name, numeric: numericCols.has(name) });
  const params = db
    .prepare(`SELECT j.key AS name, group_concat(DISTINCT j.type) AS types FROM runs r, json_each(r.params_json) j WHERE r.in_plan = 1 AND r.trainer <> 'builtin' GROUP BY j.key ORDER BY j.key`)
    .all() as { name: string; types: string }[];
  for (const p of params) {
    const types = p.types.split(',');
    const boolean = types.every((t) => t === 'true' || t === 'false');
    const numeric = boolean || types.every((t) => t === 'integer' || t === 'real');
    out.set(p.name, { name: p.name, numeric, boolean, expr: { sql: (a) => `json_extract(${a}params_json, ?)`, param: `$.${JSON.stringify(p.name)}` } });
  }
  const metrics = db.prepare(`SELECT DISTINCT name FROM run_metrics ORDER BY name`).pluck().all() as string[];
  for (const m of metrics) {
    const name = `final_${m}`;
    if (out.has(name)) continue;
    out.set(name, { name, numeric: true, expr: { sql: (a) => `(SELECT final FROM run_metrics fm WHERE fm.run_id = ${a}id AND fm.name = ?)`, param: m } });
  }
  return out;
}

function runColumns(db: Db): Map<string, ColumnInfo> {
  const user = userColumns(db);
  if (user) return user;
  const rows = db.prepare(`SELECT name, type FROM pragma_table_info('runs')`).all() as { name: string; type: string }[];
  const present = new Map(rows.map((r) => [r.name, r.type.toUpperCase()]));
  const out = new Map<string, ColumnInfo>();
  for (const name of [...FILTER_COLUMNS, ...LATER_COLUMNS]) {
    const type = present.get(name);
    if (type !== undefined) out.set(name, { name, numeric: type === 'INTEGER' || type === 'REAL' });
  }
  return out;
}

/** The names a filter may use on this database, in a stable order. */
export function filterColumns(db: Db): string[] {
  // A user sweep's own names: its declared parameters and final_<metric>.
  return [...runColumns(db).keys()];
}

function filterError(code: string, message: string): ConvergeError {
  return new ConvergeError(code, message, { exitCode: 2 });
}

function bindValue(col: ColumnInfo, c: FilterClause): number | string {
  const shown = typeof c.value === 'string' ? JSON.stringify(c.value) : String(c.value);
  if (BOOLEAN_COLUMNS.has(col.name) || col.boolean) {
    if (typeof c.value === 'boolean') return c.value ? 1 : 0;
    if (c.value === 0 || c.value === 1) return c.value;
    throw filterError('filter.badValue', `${c.key} is true or false, got ${shown}`);
  }
  if (col.numeric) {
    if (typeof c.value === 'number') return c.value;
    throw filterError('filter.badValue', `${c.key} is a number, got ${shown}`);
  }
  const s = String(c.value);
  const closed = CLOSED_VALUES[col.name];
  if (closed && (c.op === '=' || c.op === '!=') && !closed.includes(s)) {
    const hint = didYouMean(s, closed);
    throw filterError('filter.badValue', `${c.key} is one of ${closed.join(', ')}, got ${shown}${hint ? ` (did you mean ${hint}?)` : ''}`);
  }
  return s;
}

/**
 * The SQL of each operator. `!=` means "is not": SQL's `outcome != 'dead'` is NULL, so false, for
 * a run with no outcome (pending, running, or lacking the rule's metric), and would hide exactly
 * the runs a user asking for "not dead" expects to see; `IS NOT` keeps them. The other operators
 * stay false on NULL: a run with no value is not "< 0.05".
 */
const SQL_OP: Record<FilterOp, string> = { '=': '=', '!=': 'IS NOT', '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

export interface CompiledFilter {
  /** A boolean SQL expression ("1" for an empty filter), with `?` placeholders. */
  sql: string;
  params: (number | string)[];
}

/**
 * Compile a filter to a WHERE expression over `runs` (columns prefixed with `alias.` when given;
 * `outcome` and `converged_epoch` taken from `scoredAlias.` when outcomes are scored at read time).
 * @throws ConvergeError `filter.unknownName` (with "did you mean" and the valid names) or
 *   `filter.badValue` (a word for a number column, a misspelt outcome); both exit 2
 */
export function compileFilter(db: Db, filter: Filter, alias?: string, scoredAlias?: string): CompiledFilter {
  const cols = runColumns(db);
  const parts: string[] = [];
  const params: (number | string)[] = [];
  for (const c of filter) {
    const col = cols.get(c.key);
    if (col === undefined) {
      const names = [...cols.keys()];
      const hint = didYouMean(c.key, names);
      throw filterError('filter.unknownName', `unknown name "${c.key}"${hint ? ` (did you mean ${hint}?)` : ''}; names: ${names.join(', ')}`);
    }
    const table = scoredAlias && SCORED_COLUMNS.has(col.name) ? scoredAlias : alias;
    if (col.expr) {
      parts.push(`${col.expr.sql(alias ? `${alias}.` : '')} ${SQL_OP[c.op]} ?`);
      params.push(col.expr.param, bindValue(col, c));
      continue;
    }
    parts.push(`${table ? `${table}.` : ''}"${col.name}" ${SQL_OP[c.op]} ?`);
    params.push(bindValue(col, c));
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : '1', params };
}
