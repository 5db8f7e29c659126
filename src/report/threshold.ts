/**
 * Is a verdict an artifact of the threshold? The rule's threshold is a choice (the answer's 0.05),
 * and runs that learned often hover near it, so a rate, and a comparison's verdict, can move with
 * it. Every run is re-scored from its stored epochs at thresholds around the rule's by the outcome
 * module (through scoreRows): nothing is retrained and nothing is written.
 */
import type { Rule } from '../outcome';
import { cellKey, tallyRuns } from './cells';
import { ALPHA, type Comparison, type CompareTest } from './compare';
import { formatP } from './format';
import { scoreRows } from './score';
import { wilson } from './stats';
import type { EpochRow, RunRow } from './types';

/** The default thresholds as multiples of the rule's: 0.03, 0.05, 0.07, 0.10, 0.15 around 0.05. */
export const THRESHOLD_FACTORS: readonly number[] = [0.6, 1, 1.4, 2, 3];

/** Round away the binary noise of a product (0.05 × 0.6 = 0.030000000000000002). */
const tidy = (x: number): number => Number(x.toPrecision(12));

/** Thresholds around the rule's (THRESHOLD_FACTORS times it), in increasing order. */
export function defaultThresholds(threshold: number): number[] {
  return THRESHOLD_FACTORS.map((f) => tidy(threshold * f));
}

/** The JSON of one cell's rate at one threshold; field names are part of `report --format json`. */
export interface ThresholdRate { threshold: number; converged: number; n: number; rate: number | null; ci_low: number; ci_high: number }

/**
 * Per cell (keyed like CellSummary.key), the converged rate at each threshold with its 95% Wilson
 * interval, the runs re-scored under `metric < threshold` at the epoch budget.
 * @param runs the runs as stored (not yet scored)
 */
export function thresholdRates(
  axes: readonly string[],
  runs: readonly RunRow[],
  epochs: readonly EpochRow[],
  metric: string | Rule,
  thresholds: readonly number[],
  budget?: number,
): Map<string, ThresholdRate[]> {
  const out = new Map<string, ThresholdRate[]>();
  // A rule keeps its direction and epoch (a user trainer's `above`, `at: best`) at every threshold.
  const base: Rule = typeof metric === 'string' ? { metric, threshold: 0 } : metric;
  for (const threshold of thresholds) {
    const cells = new Map<string, RunRow[]>();
    for (const r of scoreRows(runs, epochs, { ...base, threshold }, budget)) {
      const key = cellKey(axes, r.params);
      let g = cells.get(key);
      if (!g) cells.set(key, (g = []));
      g.push(r);
    }
    for (const [key, cellRuns] of cells) {
      const t = tallyRuns(cellRuns);
      const ci = wilson(t.k, t.n);
      let list = out.get(key);
      if (!list) out.set(key, (list = []));
      list.push({ threshold, converged: t.k, n: t.n, rate: t.n > 0 ? t.k / t.n : null, ci_low: ci.lo, ci_high: ci.hi });
    }
  }
  return out;
}

/** What a comparison says at one threshold: B's rate higher, A's higher (both at p < ALPHA), or neither shown. */
export type Verdict = 'b_higher' | 'a_higher' | 'no_difference_shown';

/** The JSON of a comparison at one threshold; field names are part of `compare --json`. */
export interface ThresholdPoint {
  threshold: number;
  test: CompareTest;
  a_k: number; a_n: number; b_k: number; b_n: number;
  /** Pairs where only A, only B converged (null for fisher_exact). */
  discordant_ab: number | null; discordant_ba: number | null;
  difference: number | null; difference_ci_low: number | null; difference_ci_high: number | null;
  p_value: number | null;
  /** null when there is nothing to compare (no finished pair or run). */
  verdict: Verdict | null;
}

export function verdictOf(c: Pick<Comparison, 'p_value' | 'difference'>): Verdict | null {
  if (c.p_value === null || c.difference === null) return null;
  if (c.p_value >= ALPHA || c.difference === 0) return 'no_difference_shown';
  return c.difference > 0 ? 'b_higher' : 'a_higher';
}

export function thresholdPoint(threshold: number, c: Comparison): ThresholdPoint {
  return {
    threshold, test: c.test, a_k: c.a.k, a_n: c.a.n, b_k: c.b.k, b_n: c.b.n, discordant_ab: c.discordant_ab, discordant_ba: c.discordant_ba,
    difference: c.difference, difference_ci_low: c.difference_ci_low, difference_ci_high: c.difference_ci_high,
    p_value: c.p_value, verdict: verdictOf(c),
  };
}

const VERDICT_TEXT: Record<Verdict, string> = { b_higher: 'B higher', a_higher: 'A higher', no_difference_shown: 'no difference shown' };

export function verdictText(v: Verdict | null): string {
  return v === null ? 'nothing to compare' : VERDICT_TEXT[v];
}

/** Whether the verdict is the same at every threshold, and a sentence that says so. */
export interface Sensitivity {
  /** true when the verdict flips between thresholds; null when there is nothing to compare at any. */
  threshold_dependent: boolean | null;
  threshold_summary: string;
}

/** The verdict across thresholds: "holds at every threshold from … to …" or "depends on the threshold: …". */
export function sensitivityOf(points: readonly ThresholdPoint[]): Sensitivity {
  const judged = points.filter((p) => p.verdict !== null);
  if (judged.length === 0) return { threshold_dependent: null, threshold_summary: 'nothing to compare at any threshold' };
  const verdicts = [...new Set(judged.map((p) => p.verdict!))];
  if (verdicts.length === 1) {
    const ps = judged.map((p) => p.p_value!);
    const lo = Math.min(...judged.map((p) => p.threshold));
    const hi = Math.max(...judged.map((p) => p.threshold));
    const range = lo === hi ? `at threshold ${lo}` : `at every threshold from ${lo} to ${hi}`;
    const [pLo, pHi] = [formatP(Math.min(...ps)), formatP(Math.max(...ps))];
    const pRange = pLo === pHi ? `p = ${pLo}` : `p ${pLo} to ${pHi}`;
    return { threshold_dependent: false, threshold_summary: `${verdictText(verdicts[0]!)} ${range} (${pRange})` };
  }
  const parts = verdicts.map((v) => `${verdictText(v)} at ${judged.filter((p) => p.verdict === v).map((p) => p.threshold).join(', ')}`);
  return { threshold_dependent: true, threshold_summary: `depends on the threshold: ${parts.join('; ')}` };
}
