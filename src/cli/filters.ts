import { ConvergeError, isConvergeError } from '../errors';
import { parseFilter, type Filter } from '../filter';
import { compileFilter, countRuns, type Db } from '../store';
import { writeErr } from './common';

/** A filter as the user gave it: which flag, the text, the parsed clauses. */
export interface FlagFilter { flag: string; expr: string; filter: Filter }

function prefixed(flag: string, expr: string, e: unknown): unknown {
  if (!isConvergeError(e)) return e;
  // Errors are one line: the caret picture of a syntax error is left out here.
  return new ConvergeError(e.code, `${flag} "${expr}": ${e.message.split('\n')[0]}`, { exitCode: e.exitCode });
}

/** Parse a filter flag; a syntax error names the flag and the position. */
export function parseFlag(flag: string, expr: string | undefined): FlagFilter | null {
  if (expr === undefined) return null;
  try {
    return { flag, expr, filter: parseFilter(expr) };
  } catch (e) {
    throw prefixed(flag, expr, e);
  }
}

/**
 * Check every filter's names and values against this database before anything is read, so that
 * an unknown name is exit 2 with "did you mean" and the valid names, naming the flag it is in.
 */
export function checkFlags(db: Db, flags: readonly (FlagFilter | null)[]): void {
  for (const f of flags) {
    if (f === null) continue;
    try {
      compileFilter(db, f.filter);
    } catch (e) {
      throw prefixed(f.flag, f.expr, e);
    }
  }
}

/** All clauses of the given filters, joined by "and". */
export function joinFlags(...flags: (FlagFilter | null)[]): Filter {
  return flags.flatMap((f) => (f === null ? [] : f.filter));
}

/** A valid filter that selects nothing is not an error (exit 0) but is worth a line on stderr. */
export function noteEmpty(db: Db, what: string, matched: number): void {
  if (matched === 0) writeErr(`converge: ${what} matches no run (of ${countRuns(db)} in the database)`);
}

/** commander collector: a repeated --where adds its conditions (`--where a=1 --where b=2` is `a=1 and b=2`), never replaces them. */
export function andWhere(value: string, previous: string | undefined): string {
  return previous === undefined ? value : `${previous} and ${value}`;
}
