/**
 * A named comparison, as `report --compare` and a sweep file's `compare:` list write it:
 * "A vs B [where W] [by SETTING[, SETTING]]", e.g. "batch_size=1 vs batch_size=16 by n_samples",
 * where A, B and W are filters of the one filter language. This module only splits and parses;
 * what the names mean is for the caller (the spec checks them against the parameters, the report
 * against the database).
 */
import { ConvergeError } from '../errors';
import { parseFilter, type Filter } from './parse';

export interface ComparisonPhrase {
  /** The phrase as written. */
  text: string;
  a: { expr: string; filter: Filter };
  b: { expr: string; filter: Filter };
  where: { expr: string; filter: Filter } | null;
  /** The settings to compare within, in the order written. */
  by: string[];
}

const PHRASE = /^(.+?)\s+vs\.?\s+(.+?)(?:\s+where\s+(.+?))?(?:\s+by\s+(.+?))?$/;
const EXAMPLE = '"batch_size=1 vs batch_size=16 where seq_len=100 by n_samples"';

function phraseError(text: string, what: string): ConvergeError {
  return new ConvergeError('filter.syntax', `"${text}": ${what}; a comparison reads "A vs B [where W] [by SETTING]", e.g. ${EXAMPLE}`, { exitCode: 2 });
}

/** Split and parse a comparison phrase. @throws ConvergeError `filter.syntax` (one line) */
export function parseComparisonPhrase(text: string): ComparisonPhrase {
  const m = PHRASE.exec(text.trim());
  if (!m) throw phraseError(text, 'expected two groups joined by " vs "');
  const part = (name: string, expr: string): { expr: string; filter: Filter } => {
    try {
      return { expr, filter: parseFilter(expr) };
    } catch (e) {
      throw e instanceof ConvergeError ? phraseError(text, `${name} "${expr}": ${e.message.split('\n')[0]}`) : e;
    }
  };
  const by = m[4] === undefined ? [] : m[4].split(/\s*,\s*|\s+and\s+/);
  const bad = by.find((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n));
  if (bad !== undefined) throw phraseError(text, `by: expected setting names separated by commas, got "${bad}"`);
  return { text, a: part('A', m[1]!), b: part('B', m[2]!), where: m[3] === undefined ? null : part('where', m[3]), by };
}
