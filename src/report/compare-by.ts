/**
 * Does the effect depend on the setting, or on the threshold? `compare --by AXIS` repeats the
 * comparison within each level of the axis, side by side, and tests whether the paired effect is
 * the same in every level (src/report/heterogeneity.ts); every comparison is also re-scored at
 * thresholds around the rule's (src/report/threshold.ts), to say whether its verdict holds.
 */
import { ConvergeError } from '../errors';
import type { Rule } from '../outcome';
import { cellKey, compareParamValues } from './cells';
import { compareGroups, type Comparison, type CompareOptions, type Group } from './compare';
import { scoreRows } from './score';
import { sensitivityOf, thresholdPoint, type Sensitivity, type ThresholdPoint } from './threshold';
import type { EpochRow, ParamValue, RunRow } from './types';

/** A comparison with its verdict across thresholds. */
export type ComparisonAcross = Comparison & Sensitivity & { by_threshold: ThresholdPoint[] };

/** One level of the `--by` settings and the comparison within it. */
export type Stratum = ComparisonAcross & { values: Record<string, ParamValue>; stratum: string };

/** The JSON of `compare --json`: the pooled comparison's fields, then the strata (with --by). */
export type StratifiedComparison = ComparisonAcross & {
  /** The --by settings ([] without --by). */
  by: string[];
  /** One entry per combination of their values, in value order ([] without --by). */
  strata: Stratum[];
};

/** A group as stored: its runs and their epochs, to be scored at any threshold. */
export interface StoredGroup { label: string; runs: readonly RunRow[]; epochs: readonly EpochRow[] }

export interface AcrossOptions extends Omit<CompareOptions, 'strataOver'> {
  /** The rule of the main comparison; the others change only its threshold. */
  rule: Rule;
  /** Score every run as if it had stopped after this epoch. */
  epoch?: number;
  /** The thresholds of the sensitivity line. */
  thresholds: readonly number[];
  /** The settings to compare within (`--by`). @default [] */
  by?: readonly string[];
}

function compareError(message: string): ConvergeError {
  return new ConvergeError('compare.badBy', message, { exitCode: 2 });
}

/** The comparison within each level of `by` (the pooled one tests that the levels agree). */
function compareStrata(a: Group, b: Group, differing: readonly string[], by: readonly string[], options: CompareOptions): { pooled: Comparison; strata: { values: Record<string, ParamValue>; stratum: string; comparison: Comparison }[] } {
  const pooled = compareGroups(a, b, differing, by.length > 0 ? { ...options, strataOver: by } : options);
  const levels = new Map<string, Record<string, ParamValue>>();
  for (const r of [...a.runs, ...b.runs]) {
    const values = Object.fromEntries(by.filter((n) => n in r.params).map((n) => [n, r.params[n]!]));
    levels.set(cellKey(by, r.params), values);
  }
  const order = [...levels.entries()].sort(([, x], [, y]) => by.reduce((c, n) => c || compareParamValues(x[n], y[n]), 0));
  const strata = by.length === 0 ? [] : order.map(([key, values]) => {
    const within = (g: Group): Group => ({ label: g.label, runs: g.runs.filter((r) => cellKey(by, r.params) === key) });
    return { values, stratum: key, comparison: compareGroups(within(a), within(b), differing, options) };
  });
  return { pooled, strata };
}

/**
 * Compare A and B under the rule, within each level of `options.by`, and again at every threshold
 * of `options.thresholds` (same runs, same pairs, re-scored from their stored epochs).
 * @throws ConvergeError `compare.badBy` when a --by setting defines the groups or no run has it;
 *   `compare.ambiguous` as compareGroups
 */
export function compareAcross(a: StoredGroup, b: StoredGroup, differing: readonly string[], options: AcrossOptions): StratifiedComparison {
  const by = [...(options.by ?? [])];
  for (const n of by) {
    if (differing.includes(n)) {
      throw compareError(`--by ${n}: ${n} tells A from B; --by takes a setting both groups share (one comparison per value of it), e.g. one that --where leaves open`);
    }
    if (![...a.runs, ...b.runs].some((r) => n in r.params)) throw compareError(`--by ${n}: no run of A or B has the setting ${n}`);
  }
  const at = (threshold: number) => {
    const rule = { ...options.rule, threshold };
    const score = (g: StoredGroup): Group => ({ label: g.label, runs: scoreRows(g.runs, g.epochs, rule, options.epoch) });
    return compareStrata(score(a), score(b), differing, by, { alive: options.alive });
  };
  const main = at(options.rule.threshold);
  const sweep = options.thresholds.map((t) => ({ t, r: at(t) }));
  const across = (c: Comparison, pick: (r: ReturnType<typeof at>) => Comparison | undefined): ComparisonAcross => {
    const points = sweep.flatMap(({ t, r }) => {
      const at = pick(r);
      return at ? [thresholdPoint(t, at)] : [];
    });
    return { ...c, ...sensitivityOf(points), by_threshold: points };
  };
  return {
    ...across(main.pooled, (r) => r.pooled),
    by,
    strata: main.strata.map((s) => ({
      ...across(s.comparison, (r) => r.strata.find((x) => x.stratum === s.stratum)?.comparison),
      values: s.values,
      stratum: s.stratum,
    })),
  };
}
