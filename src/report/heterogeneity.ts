/**
 * Does a paired effect depend on the setting? For matched binary pairs, the effect McNemar's test
 * reads is the split of the discordant pairs: of the pairs where exactly one side converged, the
 * share where it was A (the conditional odds ratio of the pairs). "The same effect in every
 * stratum" is then the hypothesis that this split is the same in every stratum, tested on the
 * 2 × K table of discordant counts (only A, only B) per stratum. Concordant pairs say nothing
 * about the split, so a stratum without discordant pairs carries no information and is left out.
 *
 * Exact conditional test (Freeman–Halton on the 2 × K table): given each stratum's discordant
 * count m_s and the total B of "only A", the counts (b_1 … b_K) are multivariate hypergeometric
 * under the hypothesis, P(b) = Π C(m_s, b_s) / C(M, B); the p-value is the probability of every
 * table no more likely than the observed one. For K = 2 it is Fisher's exact test. When the
 * tables are too many to enumerate the counts are large, and Pearson's chi-square on the same
 * table (K − 1 degrees of freedom) takes over.
 */
import { lgamma, logChoose } from './stats';

/** One stratum's discordant pairs: `ab` pairs where only A converged, `ba` where only B did. */
export interface SplitCounts { ab: number; ba: number }

export type HeterogeneityTest = 'exact_conditional' | 'chi_square';

export interface SplitTest {
  test: HeterogeneityTest;
  /** Two-sided p-value; null when fewer than two strata have discordant pairs (nothing to compare). */
  p_value: number | null;
  /** Pearson's X² of the 2 × K table (reported with the exact test too, as an effect size). */
  statistic: number;
  /** K − 1, with K the strata that have discordant pairs. */
  df: number;
  /** Strata with at least one discordant pair: the ones the test compares. */
  informative: number;
}

/** Above this many tables with the observed margins, the chi-square approximation is used. */
export const MAX_EXACT_TABLES = 2_000_000;

/**
 * Upper tail of the chi-square distribution, P(X ≥ x) for `df` degrees of freedom: the
 * regularized upper incomplete gamma Q(df/2, x/2), by its power series below a + 1 and its
 * continued fraction (modified Lentz) above (Numerical Recipes, 2nd ed., §6.2).
 */
export function chiSquareSf(x: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`chiSquareSf: expected df > 0, got ${df}`);
  if (!(x > 0)) return 1;
  const a = df / 2;
  const h = x / 2;
  const logFront = -h + a * Math.log(h) - lgamma(a);
  if (h < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000; n++) {
      term *= h / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
    }
    return Math.max(0, 1 - sum * Math.exp(logFront));
  }
  const tiny = 1e-300;
  let b = h + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let f = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.min(1, Math.exp(logFront) * f);
}

/** Pearson's X² of the 2 × K table of discordant counts, with the split's pooled share as expectation. */
function pearson(strata: readonly SplitCounts[]): number {
  const m = strata.reduce((s, x) => s + x.ab + x.ba, 0);
  const pi = strata.reduce((s, x) => s + x.ab, 0) / m;
  if (pi === 0 || pi === 1) return 0;
  let x2 = 0;
  for (const s of strata) {
    const n = s.ab + s.ba;
    x2 += (s.ab - n * pi) ** 2 / (n * pi) + (s.ba - n * (1 - pi)) ** 2 / (n * (1 - pi));
  }
  return x2;
}

/** How many vectors (b_1 … b_K) with 0 ≤ b_s ≤ m_s sum to `total` (capped once it passes `cap`). */
function countTables(sizes: readonly number[], total: number, cap: number): number {
  let ways = new Array<number>(total + 1).fill(0);
  ways[0] = 1;
  for (const m of sizes) {
    const next = new Array<number>(total + 1).fill(0);
    for (let v = 0; v <= total; v++) {
      if (ways[v] === 0) continue;
      for (let b = 0; b <= m && v + b <= total; b++) next[v + b] = Math.min(cap + 1, next[v + b]! + ways[v]!);
    }
    ways = next;
  }
  return ways[total]!;
}

/**
 * The exact conditional p-value: the sum of P(b) over every table with the observed margins
 * whose probability is at most the observed one (relative tolerance 1e-7, as fisherExact, so
 * that tables equally likely in exact arithmetic are not dropped by rounding).
 */
function exactConditional(strata: readonly SplitCounts[]): number {
  const sizes = strata.map((s) => s.ab + s.ba);
  const total = strata.reduce((s, x) => s + x.ab, 0);
  const logC = sizes.map((m) => Array.from({ length: m + 1 }, (_, b) => logChoose(m, b)));
  const logDenom = logChoose(sizes.reduce((s, m) => s + m, 0), total);
  const cutoff = strata.reduce((s, x, i) => s + logC[i]![x.ab]!, 0) + Math.log1p(1e-7);
  // capacity[i]: the most "only A" pairs the strata from i on can hold.
  const capacity = sizes.map((_, i) => sizes.slice(i).reduce((s, m) => s + m, 0));
  let p = 0;
  const visit = (i: number, left: number, logP: number): void => {
    if (i === sizes.length - 1) {
      const lp = logP + logC[i]![left]!;
      if (lp <= cutoff) p += Math.exp(lp - logDenom);
      return;
    }
    const hi = Math.min(sizes[i]!, left);
    for (let b = Math.max(0, left - capacity[i + 1]!); b <= hi; b++) visit(i + 1, left - b, logP + logC[i]![b]!);
  };
  visit(0, total, 0);
  return Math.min(1, p);
}

/**
 * Test that the discordant pairs split alike in every stratum (no interaction between the
 * compared setting and the strata, on the scale McNemar's test reads).
 */
export function discordantSplitTest(strata: readonly SplitCounts[]): SplitTest {
  for (const s of strata) {
    if (!Number.isInteger(s.ab) || !Number.isInteger(s.ba) || s.ab < 0 || s.ba < 0) {
      throw new RangeError(`discordantSplitTest: counts must be non-negative integers, got ${s.ab}, ${s.ba}`);
    }
  }
  const used = strata.filter((s) => s.ab + s.ba > 0);
  const df = Math.max(0, used.length - 1);
  if (used.length < 2) return { test: 'exact_conditional', p_value: null, statistic: 0, df, informative: used.length };
  const statistic = pearson(used);
  const total = used.reduce((s, x) => s + x.ab, 0);
  if (countTables(used.map((s) => s.ab + s.ba), total, MAX_EXACT_TABLES) > MAX_EXACT_TABLES) {
    return { test: 'chi_square', p_value: chiSquareSf(statistic, df), statistic, df, informative: used.length };
  }
  return { test: 'exact_conditional', p_value: exactConditional(used), statistic, df, informative: used.length };
}
