/**
 * The HTML report's "Comparisons" section: for each named comparison (`report --compare`, or the
 * sweep file's `compare:` list), the rates, the paired difference with its interval and p-value,
 * pooled and per level of its `by` settings, whether the levels agree, a forest plot of the
 * differences, and the verdict across thresholds.
 */
import type { TopLevelSpec } from 'vega-lite/build/index';
import { CHART_CONFIG, SCHEMA } from './chart';
import type { StratifiedComparison } from './compare-by';
import { heterogeneityLine, STRATUM_COLUMNS, testName, thresholdColumns, type StratumRow } from './compare-text';
import { formatP, signed } from './format';
import { escapeHtml, htmlTable } from './html';

/** One named comparison: its phrase, and its result or why it could not be made. */
export interface NamedComparison {
  phrase: string;
  result: StratifiedComparison | null;
  /** Lines to show above the numbers (settings that move with the named ones). */
  extra: string[];
  /** Why the comparison could not be made (e.g. its groups cannot be paired), or null. */
  error: string | null;
}

/** The pooled comparison as the first row of the strata table. */
function pooledRow(r: StratifiedComparison): StratumRow {
  return { ...r, values: {}, stratum: r.by.length > 0 ? 'pooled' : 'all pairs' };
}

/** Differences B − A with their 95% intervals, pooled first, on a fixed [−1, 1] axis with 0 marked. */
function forestPlot(rows: readonly StratumRow[]): TopLevelSpec {
  const values = rows
    .filter((r) => r.difference !== null)
    .map((r) => ({ row: r.stratum, difference: r.difference, lo: r.difference_ci_low, hi: r.difference_ci_high, p: r.p_value === null ? '–' : formatP(r.p_value) }));
  const x = { field: 'difference', type: 'quantitative', scale: { domain: [-1, 1] }, title: 'difference in rate, B − A (95% CI)' } as const;
  const y = { field: 'row', type: 'nominal', sort: values.map((v) => v.row), title: null, axis: { labelLimit: 300 } } as const;
  return {
    $schema: SCHEMA,
    config: CHART_CONFIG,
    width: 320,
    height: { step: 22 },
    data: { values },
    layer: [
      { data: { values: [{ zero: 0 }] }, mark: { type: 'rule', color: '#999', strokeDash: [4, 3] }, encoding: { x: { field: 'zero', type: 'quantitative', scale: { domain: [-1, 1] } } } },
      { mark: { type: 'rule', color: '#08519c', strokeWidth: 2 }, encoding: { y, x: { ...x, field: 'lo' }, x2: { field: 'hi' } } },
      { mark: { type: 'point', filled: true, color: '#08519c', size: 50 }, encoding: { y, x, tooltip: [{ field: 'row' }, { field: 'difference', format: '+.2f' }, { field: 'p' }] } },
    ],
  } as unknown as TopLevelSpec;
}

/** The sentence under a comparison's heading: who A and B are, the pooled difference and its test. */
function pooledSentence(r: StratifiedComparison): string {
  const groups = `A: ${r.a.label}; B: ${r.b.label}.`;
  if (r.difference === null || r.p_value === null) return `${groups} Nothing to compare: no finished ${r.test === 'fisher_exact' ? 'run on one side' : 'pair'}.`;
  const how =
    r.test === 'fisher_exact' ? 'The groups share no seed (unpaired).'
    : r.test === 'sign_flip_seed' ? `Paired by seed and setting: ${r.pairs} pairs from ${r.seeds} seeds, the seed as the unit.`
    : `Paired by seed and setting: ${r.pairs} pairs.`;
  return (
    `${groups} ${how} ${r.a.k}/${r.a.n} against ${r.b.k}/${r.b.n}: B − A = ${signed(r.difference)}, 95% CI [${signed(r.difference_ci_low!)}, ${signed(r.difference_ci_high!)}], ` +
    `${testName(r)} p = ${formatP(r.p_value)}.`
  );
}

async function renderOne(item: NamedComparison, index: number, metric: string, threshold: number, render: (spec: TopLevelSpec) => Promise<string>): Promise<string> {
  const head = `<section class="comparison" id="comparison-${index + 1}">\n<h3>${escapeHtml(item.phrase)}</h3>`;
  if (item.result === null) return `${head}\n<p class="warn">${escapeHtml(`Not compared: ${item.error ?? 'unknown reason'}`)}</p>\n</section>`;
  const r = item.result;
  const rows = [pooledRow(r), ...r.strata];
  const svg = await render(forestPlot(rows));
  const parts = [
    head,
    ...item.extra.map((l) => `<p class="note">${escapeHtml(l)}</p>`),
    `<p>${escapeHtml(pooledSentence(r))}</p>`,
    `<figure class="forest">${svg}</figure>`,
    htmlTable(STRATUM_COLUMNS, rows),
  ];
  if (r.heterogeneity) parts.push(`<p>${escapeHtml(heterogeneityLine(r.heterogeneity, r.by.length > 0))}</p>`);
  if (r.by_threshold.length > 0) {
    parts.push(
      `<p class="note">${escapeHtml(`Across thresholds: the same runs re-scored from their stored epochs under ${metric} < t (nothing retrained).`)}</p>`,
      htmlTable(thresholdColumns(threshold), r.by_threshold),
      `<p class="${r.threshold_dependent ? 'warn' : 'note'}">${escapeHtml(r.threshold_summary)}</p>`,
    );
  }
  const warnings = [r.warning, ...r.strata.map((s) => (s.warning ? `${s.stratum}: ${s.warning}` : null))].filter((w): w is string => w !== null);
  parts.push(...warnings.map((w) => `<p class="warn">${escapeHtml(`warning: ${w}`)}</p>`), '</section>');
  return parts.join('\n');
}

/** The section, or '' when there are no named comparisons. */
export async function renderComparisonSection(items: readonly NamedComparison[], metric: string, threshold: number, render: (spec: TopLevelSpec) => Promise<string>): Promise<string> {
  if (items.length === 0) return '';
  const body = await Promise.all(items.map((item, i) => renderOne(item, i, metric, threshold, render)));
  return (
    `<h2>Comparisons</h2>\n<p class="note">Each comparison pairs a run of A with the run of B that has the same seed and the same other settings, ` +
    `and gives the rates, the difference B − A with its 95% interval (Newcombe) and a two-sided p-value (exact McNemar; an exact sign-flip by seed when pooled cells reuse a seed; ` +
    `Fisher when the groups share no seed). With "by", the same per level, and a test that the levels agree. ` +
    `Rates and verdicts at other thresholds come from the same runs re-scored from their stored epochs.</p>\n` +
    body.join('\n')
  );
}
