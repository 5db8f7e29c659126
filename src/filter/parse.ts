/**
 * The one filter language of `report`, `compare` and `query`: clauses `name OP value` joined by
 * `and`. This module only parses; src/store/filter-sql.ts checks the names against the columns a
 * filter may use and compiles the clauses to SQL with bound values.
 */
import { ConvergeError } from '../errors';

export type FilterValue = number | string | boolean;
export type FilterOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export interface FilterClause { key: string; op: FilterOp; value: FilterValue }
/** Clauses joined by `and`: a run matches when every clause holds. */
export type Filter = FilterClause[];

const OPS: readonly FilterOp[] = ['<=', '>=', '!=', '=', '<', '>']; // two-character operators first
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function filterError(expr: string, pos: number, what: string): ConvergeError {
  // Positions are 1-based columns, as a person counts them; the caret line shows where. The
  // message does not repeat the expression up front so that a caller can prefix its own context
  // (`--where "…": at position 9: …`).
  return new ConvergeError(
    'filter.syntax',
    `at position ${pos + 1}: ${what}\n  ${expr}\n  ${' '.repeat(pos)}^\n` +
      `  expected clauses like n_samples=80 joined by "and", e.g. "seq_len=200 and batch_size=1"`,
    { exitCode: 2 },
  );
}

/**
 * Parse `key OP value [and key OP value]…` with OP one of = != < <= > >=. Values: numbers become
 * numbers, true/false booleans, anything else a string (quote it with '…' or "…" to include spaces
 * or operator characters). Keys are identifiers; whether a key names a column is for the caller to
 * check (src/store/filter-sql.ts), and values are bound as SQL parameters, never pasted in.
 * @throws ConvergeError `filter.syntax` naming the position of the problem
 */
export function parseFilter(expr: string): Filter {
  let i = 0;
  const skipSpace = (): void => {
    while (i < expr.length && /\s/.test(expr[i]!)) i++;
  };
  const describe = (): string => (i >= expr.length ? 'the end of the filter' : `"${expr[i]}"`);
  const clauses: Filter = [];
  skipSpace();
  if (i >= expr.length) throw filterError(expr, i, 'the filter is empty');
  for (;;) {
    skipSpace();
    const keyMatch = /^[A-Za-z_][A-Za-z0-9_]*/.exec(expr.slice(i));
    if (!keyMatch) throw filterError(expr, i, `expected a parameter name, found ${describe()}`);
    const key = keyMatch[0];
    i += key.length;
    skipSpace();
    const op = OPS.find((o) => expr.startsWith(o, i));
    if (op === undefined) throw filterError(expr, i, `expected an operator (= != < <= > >=) after "${key}", found ${describe()}`);
    i += op.length;
    skipSpace();
    const valueStart = i;
    let value: FilterValue;
    const q = expr[i];
    if (q === '"' || q === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= expr.length) throw filterError(expr, valueStart, `unterminated ${q}-quoted string`);
        const ch = expr[i]!;
        if (ch === '\\' && i + 1 < expr.length) {
          s += expr[i + 1];
          i += 2;
        } else if (ch === q) {
          i++;
          break;
        } else {
          s += ch;
          i++;
        }
      }
      value = s; // quoted means string, even '80'
    } else {
      // Bare values are words, numbers and simple paths; anything else must be quoted.
      const m = /^[A-Za-z0-9_.+\-:/]+/.exec(expr.slice(i));
      if (!m) throw filterError(expr, i, `expected a value after "${key}${op}", found ${describe()}`);
      const word = m[0];
      i += word.length;
      value = NUMBER.test(word) ? Number(word) : word === 'true' ? true : word === 'false' ? false : word;
    }
    if (typeof value === 'boolean' && op !== '=' && op !== '!=') {
      throw filterError(expr, valueStart, `operator ${op} does not apply to a boolean; use = or !=`);
    }
    clauses.push({ key, op, value });
    skipSpace();
    if (i >= expr.length) return clauses;
    const andMatch = /^and(?![A-Za-z0-9_])/i.exec(expr.slice(i));
    if (!andMatch) throw filterError(expr, i, `expected "and" or the end of the filter, found ${describe()}`);
    i += 3;
    skipSpace();
    if (i >= expr.length) throw filterError(expr, i, 'expected a clause after "and"');
  }
}

/** The names a filter mentions, in order of first use. */
export function filterNames(filter: Filter): string[] {
  return [...new Set(filter.map((c) => c.key))];
}
