/**
 * Do two groups of runs converge at different rates? Fisher's exact test on the 2×2 table
 * (converged / not) × (group A / group B), plus the tiny filter language that selects the groups.
 */
import { ConvergeError } from '../errors';
import { tallyRuns } from './cells';
import { fisherExact, wilson } from './stats';
import type { Interval, ParamValue, RunRow } from './types';

export interface Group { label: string; runs: readonly RunRow[] }

export interface GroupResult { label: string; k: number; n: number; rate: number | null; ci: Interval }

export interface Comparison {
  a: GroupResult;
  b: GroupResult;
  /** rate_b − rate_a, or null when either group has no finished run. */
  difference: number | null;
  /** Fisher's exact test, two-sided; null when either group has no finished run. */
  p_value: number | null;
  /** Why the numbers should not be read as an answer, or null. */
  warning: string | null;
}

/** Below this many finished seeds per group, Fisher's test can barely reach p < 0.05 at all. */
export const MIN_SEEDS_PER_GROUP = 5;

function summarizeGroup(g: Group): GroupResult & { unfinished: number } {
  const t = tallyRuns(g.runs);
  return { label: g.label, k: t.k, n: t.n, rate: t.n > 0 ? t.k / t.n : null, ci: wilson(t.k, t.n), unfinished: t.unfinished };
}

export function compareGroups(a: Group, b: Group): Comparison {
  const ga = summarizeGroup(a);
  const gb = summarizeGroup(b);
  const warnings: string[] = [];
  const empty = [ga, gb].filter((g) => g.n === 0);
  if (empty.length > 0) {
    warnings.push(`nothing to compare: ${empty.map((g) => `"${g.label}"`).join(' and ')} ${empty.length === 1 ? 'has' : 'have'} no finished runs`);
  } else {
    const few = [ga, gb].filter((g) => g.n < MIN_SEEDS_PER_GROUP);
    if (few.length > 0) {
      // With 4 seeds a side even 0/4 vs 4/4 gives p = 0.029 only; with 3, 0/3 vs 3/3 gives p = 0.1.
      warnings.push(
        `too few seeds to tell: ${few.map((g) => `"${g.label}" has n=${g.n}`).join(', ')}; ` +
          `run at least ${MIN_SEEDS_PER_GROUP} seeds per group (10 or more to detect anything but a large difference)`,
      );
    }
  }
  const pending = [ga, gb].filter((g) => g.unfinished > 0);
  if (pending.length > 0) {
    warnings.push(`${pending.map((g) => `"${g.label}" has ${g.unfinished} unfinished run${g.unfinished === 1 ? '' : 's'}`).join(', ')}; the rates may still change`);
  }
  const strip = ({ unfinished: _u, ...g }: GroupResult & { unfinished: number }): GroupResult => g;
  const both = ga.n > 0 && gb.n > 0;
  return {
    a: strip(ga),
    b: strip(gb),
    difference: both ? gb.rate! - ga.rate! : null,
    p_value: both ? fisherExact(ga.k, ga.n - ga.k, gb.k, gb.n - gb.k) : null,
    warning: warnings.length > 0 ? warnings.join('; ') : null,
  };
}

function formatP(p: number): string {
  if (p < 1e-4) return p.toExponential(1);
  return p.toPrecision(3);
}

/** Human text (default) or JSON of the comparison. */
export function formatComparison(result: Comparison, json: boolean): string {
  if (json) return JSON.stringify(result, null, 2) + '\n';
  const line = (tag: string, g: GroupResult): string =>
    `${tag}  ${g.label}: ${g.k}/${g.n} converged, rate ${g.rate === null ? '–' : g.rate.toFixed(2)}, 95% CI [${g.ci.lo.toFixed(2)}, ${g.ci.hi.toFixed(2)}]`;
  const out = [line('A', result.a), line('B', result.b)];
  if (result.difference !== null && result.p_value !== null) {
    const d = result.difference;
    out.push(`difference (B − A): ${d >= 0 ? '+' : ''}${d.toFixed(2)}, Fisher exact two-sided p = ${formatP(result.p_value)}`);
    // Say what the p-value does and does not mean: a large p is absence of evidence, not evidence of equality.
    out.push(
      result.p_value < 0.05
        ? 'the rates differ by more than seed-to-seed chance would explain (p < 0.05)'
        : 'no evidence of a difference at these seed counts (p >= 0.05); more seeds may still reveal one',
    );
  }
  if (result.warning !== null) out.push(`warning: ${result.warning}`);
  return out.join('\n') + '\n';
}

// ---- filters -------------------------------------------------------------------------------

export type FilterOp = '=' | '!=' | '<' | '<=' | '>' | '>=';
export interface FilterClause { key: string; op: FilterOp; value: ParamValue }
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
 * or operator characters). Keys are restricted to identifiers so that the query command can use
 * them as JSON paths; values must still be bound as SQL parameters, never pasted in.
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
    let value: ParamValue;
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

function holds(actual: ParamValue, op: FilterOp, expected: ParamValue): boolean {
  if (op === '=') return actual === expected;
  if (op === '!=') return actual !== expected;
  // Order comparisons only between two numbers or two strings, as SQLite compares same-type values.
  let c: number;
  if (typeof actual === 'number' && typeof expected === 'number') c = actual - expected;
  else if (typeof actual === 'string' && typeof expected === 'string') c = actual < expected ? -1 : actual > expected ? 1 : 0;
  else return false;
  switch (op) {
    case '<': return c < 0;
    case '<=': return c <= 0;
    case '>': return c > 0;
    case '>=': return c >= 0;
  }
}

/** True when every clause holds; a clause on a parameter the run does not have does not hold. */
export function matchesFilter(params: Record<string, ParamValue>, filter: Filter): boolean {
  return filter.every((cl) => {
    const v = params[cl.key];
    return v !== undefined && holds(v, cl.op, cl.value);
  });
}
