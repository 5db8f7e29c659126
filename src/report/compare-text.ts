/**
 * A comparison as `compare` prints it: the two rates, the pairing, the difference with its
 * interval and p-value, whether pooled cells agree, and, with --by and the threshold sensitivity,
 * one table row per stratum and per threshold.
 */
import { ALPHA, type Comparison, type GroupResult, type Heterogeneity } from './compare';
import type { StratifiedComparison } from './compare-by';
import { alignColumns, formatP, signed, type TextColumn } from './format';
import { verdictText, type ThresholdPoint } from './threshold';

/** The name of a comparison's test as the text outputs print it. */
export function testName(c: Pick<Comparison, 'test' | 'seeds_discordant'>): string {
  switch (c.test) {
    case 'mcnemar_exact':
      return 'exact McNemar';
    case 'sign_flip_seed':
      return `exact sign-flip by seed (${c.seeds_discordant} seed${c.seeds_discordant === 1 ? ' favours' : 's favour'} a side)`;
    case 'fisher_exact':
      return 'Fisher exact';
  }
}

/** One sentence on whether the strata a comparison pools over (or --by names) agree. */
export function heterogeneityLine(h: Heterogeneity, named: boolean): string {
  const q = named ? `do the levels of ${h.over.join(', ')} agree?` : `the pairs pool levels of ${h.over.join(', ')}: do their effects agree?`;
  if (h.p_value === null) {
    return `${q} cannot tell: ${h.informative === 0 ? 'no level has' : 'only one level has'} pairs where exactly one side converged`;
  }
  const test = h.test === 'exact_conditional' ? 'exact conditional test' : `chi-square test (X² = ${h.statistic.toFixed(2)}, ${h.df} df)`;
  const verdict = h.p_value < ALPHA ? 'no: the effect differs between them (p < 0.05)' : 'no evidence that they differ';
  return (
    `${q} ${verdict}; ${test} on the split of the discordant pairs over ${h.informative} levels, p = ${formatP(h.p_value)}` +
    (h.seeds_repeat_within ? ' (a seed gives several pairs within one level, so this p may be too small)' : '')
  );
}

/** Human text of one comparison; `byNamed`: its strata are the ones --by named. */
export function formatComparison(result: Comparison, json: boolean, byNamed = false): string {
  if (json) return JSON.stringify(result, null, 2) + '\n';
  const line = (tag: string, g: GroupResult): string =>
    `${tag}  ${g.label}: ${g.k}/${g.n} converged, rate ${g.rate === null ? '–' : g.rate.toFixed(2)}, 95% CI [${g.ci_low.toFixed(2)}, ${g.ci_high.toFixed(2)}]`;
  const out = [line('A', result.a), line('B', result.b)];
  if (result.test !== 'fisher_exact') {
    const others = (result.matched_on ?? []).filter((n) => n !== 'seed');
    out.push(
      `paired: ${result.pairs} pairs of runs with the same seed` +
        (others.length > 0 ? ` and the same other settings (cell by cell)` : '') +
        `; converged only in A: ${result.discordant_ab}, only in B: ${result.discordant_ba}`,
    );
    if (result.test === 'sign_flip_seed') {
      out.push(
        `seed as the unit: the ${result.pairs} pairs come from ${result.seeds} seeds (cells pooled), and pairs of one seed are not independent; ` +
          `the test flips whole seeds, the interval is widened by their design effect ${result.design_effect!.toFixed(2)}`,
      );
    }
  } else {
    out.push('unpaired: the groups share no seed');
  }
  if (result.difference !== null && result.p_value !== null) {
    const ci = `95% CI [${signed(result.difference_ci_low!)}, ${signed(result.difference_ci_high!)}]`;
    out.push(`difference (B − A): ${signed(result.difference)}, ${ci} (Newcombe${result.test === 'fisher_exact' ? '' : ', paired'}); ${testName(result)} two-sided p = ${formatP(result.p_value)}`);
    // Say what the p-value does and does not mean: a large p is absence of evidence, not evidence of equality.
    out.push(
      result.p_value < ALPHA
        ? 'the rates differ by more than seed-to-seed chance would explain (p < 0.05)'
        : result.test !== 'fisher_exact' && (result.pairs ?? 0) > 0 && result.discordant_ab === 0 && result.discordant_ba === 0
          ? `all ${result.pairs} pairs agree (each converged on both sides or on neither): no difference in these seeds`
          : 'no evidence of a difference at these seed counts (p >= 0.05); more seeds may still reveal one',
    );
  }
  if (result.heterogeneity) out.push(heterogeneityLine(result.heterogeneity, byNamed));
  if (result.warning !== null) out.push(`warning: ${result.warning}`);
  return out.join('\n') + '\n';
}

const DASH = '–';
const kn = (k: number, n: number): string => `${k}/${n}`;
const pText = (p: number | null): string => (p === null ? DASH : formatP(p));
const ciText = (lo: number | null, hi: number | null): string => (lo === null || hi === null ? DASH : `[${signed(lo)}, ${signed(hi)}]`);
const diffText = (d: number | null): string => (d === null ? DASH : signed(d));

export type StratumRow = StratifiedComparison['strata'][number];

const TEST_SHORT: Record<Comparison['test'], string> = { mcnemar_exact: 'McNemar', sign_flip_seed: 'sign-flip by seed', fisher_exact: 'Fisher' };

/** The columns of the strata table (text and HTML): a row per level of the --by settings. */
export const STRATUM_COLUMNS: readonly TextColumn<StratumRow>[] = [
  { header: 'stratum', align: 'left', cell: (s) => s.stratum || 'all runs' },
  { header: 'A', align: 'right', cell: (s) => kn(s.a.k, s.a.n) },
  { header: 'B', align: 'right', cell: (s) => kn(s.b.k, s.b.n) },
  { header: 'only A', align: 'right', cell: (s) => (s.discordant_ab === null ? DASH : String(s.discordant_ab)) },
  { header: 'only B', align: 'right', cell: (s) => (s.discordant_ba === null ? DASH : String(s.discordant_ba)) },
  { header: 'B − A', align: 'right', cell: (s) => diffText(s.difference) },
  { header: '95% CI', align: 'left', cell: (s) => ciText(s.difference_ci_low, s.difference_ci_high) },
  { header: 'p', align: 'right', cell: (s) => pText(s.p_value) },
  { header: 'test', align: 'left', cell: (s) => TEST_SHORT[s.test] },
  { header: 'across thresholds', align: 'left', cell: (s) => (s.threshold_dependent === null ? DASH : s.threshold_dependent ? 'depends on the threshold' : 'holds') },
];

/** The columns of the sensitivity table (text and HTML): a row per threshold, the rule's marked. */
export function thresholdColumns(rule: number): TextColumn<ThresholdPoint>[] {
  return [
    { header: 'threshold', align: 'right', cell: (p) => `${p.threshold}${p.threshold === rule ? ' (rule)' : ''}` },
    { header: 'A', align: 'right', cell: (p) => kn(p.a_k, p.a_n) },
    { header: 'B', align: 'right', cell: (p) => kn(p.b_k, p.b_n) },
    { header: 'B − A', align: 'right', cell: (p) => diffText(p.difference) },
    { header: '95% CI', align: 'left', cell: (p) => ciText(p.difference_ci_low, p.difference_ci_high) },
    { header: 'p', align: 'right', cell: (p) => pText(p.p_value) },
    { header: 'verdict', align: 'left', cell: (p) => verdictText(p.verdict) },
  ];
}

/**
 * The whole `compare` text: the pooled comparison, the strata side by side (with --by), and the
 * verdict across thresholds of `metric`, with the rule's threshold marked.
 */
export function formatAcross(result: StratifiedComparison, metric: string, ruleThreshold: number): string {
  const out = [formatComparison(result, false, result.by.length > 0).trimEnd()];
  if (result.by.length > 0) {
    out.push('', `within each level of ${result.by.join(', ')}:`, alignColumns(STRATUM_COLUMNS, result.strata).trimEnd());
    // The pooled comparison's own line already answers whether the levels agree when it pools them.
    if (result.heterogeneity === null) out.push(`do the levels of ${result.by.join(', ')} agree? no test: ${result.test === 'fisher_exact' ? 'the groups share no seed (the test reads matched pairs)' : 'the pairs fall in one level'}`);
    for (const s of result.strata) if (s.warning) out.push(`warning: ${s.stratum}: ${s.warning}`);
  }
  if (result.by_threshold.length > 0) {
    out.push(
      '',
      `across thresholds (${metric} < t; the same runs re-scored from their stored epochs, nothing retrained):`,
      alignColumns(thresholdColumns(ruleThreshold), result.by_threshold).trimEnd(),
      `${result.threshold_dependent ? 'warning: ' : ''}${result.threshold_summary}`,
    );
  }
  return out.join('\n') + '\n';
}
