/**
 * One self-contained HTML report: charts are Vega-Lite specs compiled and rendered to inline SVG
 * here in Node (chart.ts), so the file opens offline, with no script at all, in any browser or
 * mail client.
 */
import type { TopLevelSpec } from 'vega-lite/build/index';
import { cellKey, compareParamValues, formatParamValue, tallyRuns } from './cells';
import { CHART_CONFIG, FONT, OUTCOME_DOMAIN, OUTCOME_RANGE, RATE_RANGE, SCHEMA, UNFINISHED, outcomeColor, renderSvg, wrapPairs } from './chart';
import { humanColumns, type TextColumn } from './format';
import { learningCurves, MAX_RUN_LINES } from './curves';
import { headerFields, type ReportContext } from './header';
import { OUTCOMES } from './types';
import type { CellSummary, ParamValue, ReportInput } from './types';

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** Vega ordinal domains compare strings; booleans are shown as text. */
function plain(v: ParamValue | undefined): number | string {
  return typeof v === 'number' || typeof v === 'string' ? v : String(v);
}

function distinctSorted(cells: readonly CellSummary[], axis: string): (number | string)[] {
  const vals: ParamValue[] = [];
  for (const c of cells) {
    const v = c.params[axis];
    if (v !== undefined && !vals.includes(v)) vals.push(v);
  }
  return vals.sort(compareParamValues).map(plain);
}

/**
 * The axes that take more than one value among these cells. Only these are named in panel
 * titles; an axis a filter pinned to one value is a fixed setting, stated once in the header.
 */
export function varyingAxes(axes: readonly string[], cells: readonly CellSummary[]): string[] {
  return axes.filter((a) => distinctSorted(cells, a).length > 1);
}

// ---- the charts --------------------------------------------------------------------------

/** Which two axes the heatmap uses, and which are left for panels. */
export function heatmapAxes(axes: readonly string[]): { y: string; x: string; panels: string[] } | null {
  if (axes.includes('seq_len') && axes.includes('n_samples')) {
    return { y: 'seq_len', x: 'n_samples', panels: axes.filter((a) => a !== 'seq_len' && a !== 'n_samples') };
  }
  if (axes.length >= 2) return { y: axes[0]!, x: axes[1]!, panels: axes.slice(2) };
  return null;
}

function rateRows(cells: readonly CellSummary[]) {
  return cells.map((c) => ({
    rate: c.rate,
    label: `${c.converged}/${c.n}`,
    interval: c.n > 0 ? `[${c.ci.lo.toFixed(2)}, ${c.ci.hi.toFixed(2)}]` : '',
    lo: c.ci.lo,
    hi: c.ci.hi,
    // Faded by the interval's width: a wide interval (few seeds) draws a pale square.
    certainty: 1 - (c.ci.hi - c.ci.lo),
    cell: c.key || 'all runs',
    ...Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, plain(v)])),
  }));
}

/** One axis (or none): a bar per value with its 95% interval; a heatmap would be one row. */
function rateBars(axes: readonly string[], cells: readonly CellSummary[]): TopLevelSpec {
  const x = axes[0];
  const xEnc = x
    ? { field: x, type: 'ordinal', sort: distinctSorted(cells, x), title: x, axis: { labelAngle: 0 } }
    : { field: 'cell', type: 'nominal', title: null, axis: { labelAngle: 0 } };
  return {
    $schema: SCHEMA,
    config: CHART_CONFIG,
    data: { values: rateRows(cells) },
    width: { step: 56 },
    height: 220,
    layer: [
      { mark: { type: 'bar', color: '#4c78a8' }, encoding: { x: xEnc, y: { field: 'rate', type: 'quantitative', scale: { domain: [0, 1] }, title: 'convergence rate' } } },
      { mark: { type: 'rule', color: '#333' }, encoding: { x: xEnc, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
      { mark: { type: 'text', dy: -8, fontSize: 11 }, encoding: { x: xEnc, y: { field: 'hi', type: 'quantitative' }, text: { field: 'label' } } },
    ],
  } as TopLevelSpec;
}

// A square wide enough for "[0.24, 0.76]" under the k/n label; with many columns the squares
// narrow, the interval moves out of the label and into the colour's fading instead.
const HEAT_STEP = 78;
const HEAT_MAX_WIDTH = 980;

/** One heatmap panel: y × x squares of the cells in `cells`, on the x and y values of `all`. */
function heatmapPanel(layout: { x: string; y: string }, all: readonly CellSummary[], cells: readonly CellSummary[], title: string[]): TopLevelSpec {
  const xs = distinctSorted(all, layout.x);
  const step = Math.max(34, Math.min(HEAT_STEP, Math.floor(HEAT_MAX_WIDTH / xs.length)));
  const showInterval = step >= 70;
  const enc = {
    x: { field: layout.x, type: 'ordinal', sort: xs, scale: { domain: xs }, title: layout.x, axis: { labelAngle: 0 } },
    y: { field: layout.y, type: 'ordinal', sort: distinctSorted(all, layout.y), scale: { domain: distinctSorted(all, layout.y) }, title: layout.y },
  } as const;
  const textColor = { condition: { test: 'datum.rate !== null && datum.rate > 0.55', value: 'white' }, value: '#222' };
  const layer: object[] = [
    {
      mark: { type: 'rect', stroke: 'white', strokeWidth: 1 },
      encoding: {
        ...enc,
        color: { field: 'rate', type: 'quantitative', legend: null, scale: { domain: [0, 1], range: [...RATE_RANGE] } },
        ...(showInterval ? {} : { opacity: { field: 'certainty', type: 'quantitative', legend: null, scale: { domain: [0, 1], range: [0.35, 1] } } }),
      },
    },
    { mark: { type: 'text', fontSize: 13, fontWeight: 'bold', dy: showInterval ? -7 : 0 }, encoding: { ...enc, text: { field: 'label' }, color: textColor } },
  ];
  if (showInterval) layer.push({ mark: { type: 'text', fontSize: 10, dy: 9 }, encoding: { ...enc, text: { field: 'interval' }, color: textColor } });
  return {
    $schema: SCHEMA,
    config: CHART_CONFIG,
    ...(title.length > 0 ? { title: { text: title } } : {}),
    data: { values: rateRows(cells) },
    width: { step },
    height: { step: showInterval ? 44 : 34 },
    layer,
  } as TopLevelSpec;
}

/** The rate figure as SVG panels (wrapped side by side by the page), and what it shows. */
async function rateFigure(axes: readonly string[], cells: readonly CellSummary[]): Promise<{ svgs: string[]; layout: ReturnType<typeof heatmapAxes>; faded: boolean }> {
  const layout = heatmapAxes(axes);
  if (!layout) return { svgs: [await renderSvg(rateBars(axes, cells))], layout, faded: false };
  const panels = new Map<string, CellSummary[]>();
  for (const c of cells) {
    const key = cellKey(layout.panels, c.params);
    let g = panels.get(key);
    if (!g) panels.set(key, (g = []));
    g.push(c);
  }
  // Only panels that hold cells are drawn: a grid of panel values with gaps draws no empty slot.
  const svgs = await Promise.all([...panels].map(([key, g]) => renderSvg(heatmapPanel(layout, cells, g, wrapPairs(key)))));
  const faded = Math.floor(HEAT_MAX_WIDTH / distinctSorted(cells, layout.x).length) < 70;
  return { svgs, layout, faded };
}

/**
 * Budget curves: per cell, the converged rate had every run stopped after epoch e, with its 95%
 * Wilson band. Cells where no run converged at any budget are left out (a flat zero says nothing)
 * and counted in the note instead.
 */
async function budgetFigure(cells: readonly CellSummary[], varying: readonly string[]): Promise<{ svgs: string[]; flat: number } | null> {
  const withCurve = cells.filter((c) => c.byEpoch && c.byEpoch.length > 0);
  if (withCurve.length === 0) return null;
  const shown = withCurve.filter((c) => c.byEpoch!.some((p) => p.converged > 0));
  const lastEpoch = Math.max(...withCurve.map((c) => c.byEpoch!.length));
  const specs = shown.map((c) => {
    const x = { field: 'epoch', type: 'quantitative', title: 'epoch budget', scale: { domain: [1, lastEpoch] }, axis: { tickMinStep: 1, grid: false } };
    const title = [...wrapPairs(cellKey(varying, c.params) || 'all runs'), `${c.converged}/${c.n} at the last epoch`];
    return {
      $schema: SCHEMA,
      config: { ...CHART_CONFIG, aria: false },
      title: { text: title },
      data: { values: c.byEpoch!.map((p) => ({ epoch: p.epoch, rate: p.rate, lo: p.ci_low, hi: p.ci_high })) },
      width: 200,
      height: 100,
      layer: [
        { mark: { type: 'area', color: '#9ecae1', opacity: 0.5, aria: false, interpolate: 'step-after' }, encoding: { x, y: { field: 'lo', type: 'quantitative', scale: { domain: [0, 1] }, title: 'converged rate', axis: { values: [0, 0.5, 1] } }, y2: { field: 'hi' } } },
        { mark: { type: 'line', color: '#08519c', strokeWidth: 1.5, aria: false, interpolate: 'step-after' }, encoding: { x, y: { field: 'rate', type: 'quantitative' } } },
      ],
    } as TopLevelSpec;
  });
  return { svgs: await Promise.all(specs.map(renderSvg)), flat: withCurve.length - shown.length };
}

function outcomeBars(cells: readonly CellSummary[], varying: readonly string[]): TopLevelSpec {
  const rows: { cell: string; outcome: string; count: number; order: number }[] = [];
  // Values only, under a title naming the axes once: "axis=value" five times over does not fit.
  const label = (c: CellSummary): string =>
    varying.length > 0 ? varying.map((a) => (a in c.params ? formatParamValue(c.params[a]!) : '–')).join(' · ') : 'all runs';
  for (const c of cells) {
    OUTCOMES.forEach((o, i) => {
      if (c.outcomes[o] > 0) rows.push({ cell: label(c), outcome: o, count: c.outcomes[o], order: i });
    });
    const unfinished = c.runs - OUTCOMES.reduce((sum, o) => sum + c.outcomes[o], 0);
    if (unfinished > 0) rows.push({ cell: label(c), outcome: UNFINISHED, count: unfinished, order: OUTCOMES.length });
  }
  return {
    $schema: SCHEMA,
    config: CHART_CONFIG,
    ...(varying.length > 0 ? { title: { text: varying.join(' · '), anchor: 'start', orient: 'top', frame: 'bounds' } } : {}),
    data: { values: rows },
    width: 300,
    height: { step: 20 },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'cell', type: 'nominal', sort: cells.map(label), title: null, axis: { labelLimit: 500 } },
      x: { field: 'count', type: 'quantitative', title: 'runs', stack: 'zero', axis: { tickMinStep: 1 } },
      color: outcomeColor,
      order: { field: 'order', type: 'quantitative' },
    },
  } as TopLevelSpec;
}

/** The outcome colours as an HTML legend, shared by the learning curves and the outcome bars. */
function outcomeLegend(user = false): string {
  // A user trainer's runs are never dead (no built-in ReLU output); a built-in run is never no_metric.
  const skip = new Set(user ? ['dead_at_init', 'dead'] : ['no_metric']);
  const items = OUTCOME_DOMAIN.flatMap((o, i) => (skip.has(o) ? [] : [`<span class="key"><span class="swatch" style="background:${OUTCOME_RANGE[i]}"></span>${escapeHtml(o)}</span>`]));
  return `<p class="legend">${items.join(' ')}</p>`;
}

function isUser(input: ReportInput): boolean {
  return input.trainer !== undefined && input.trainer !== 'builtin';
}

/** The rule as the notes write it: `loss < 0.05`, `accuracy > 0.9 at the best epoch`. */
function ruleText(input: ReportInput): string {
  if (!isUser(input)) return `${input.metric} < ${input.threshold}`;
  return `${input.metric} ${input.direction === 'above' ? '>' : '<'} ${input.threshold}${input.at === 'best' ? ' at the best epoch' : ''}`;
}

const BUILTIN_OUTCOMES_NOTE =
  'How each run ended: converged, not converged (trained but stayed above the threshold), dead at init (ReLU output 0 on every training row before the first update), dead (ReLU output stuck at 0 on every input), diverged (NaN or Inf loss), failed, timed out; grey runs have not finished.';
const USER_OUTCOMES_NOTE =
  "How each run ended: converged, not converged (finished without meeting the rule), diverged (a metric reported as NaN or Inf), no_metric (finished without ever reporting the rule's metric: not in n), failed (the trainer threw or exited non-zero), timed out; grey runs have not finished.";

function rateLegend(faded: boolean): string {
  return (
    `<p class="legend">convergence rate <span class="ramp" style="background:linear-gradient(to right, ${RATE_RANGE[0]}, ${RATE_RANGE[1]})"></span> 0 to 1` +
    (faded ? '; paler squares have wider 95% intervals (fewer seeds)' : '') +
    `</p>`
  );
}

// ---- the page ------------------------------------------------------------------------------

function budgetSection(b: { svgs: string[]; flat: number }, input: ReportInput): string {
  return (
    `<h2>Would more epochs help?</h2>\n<p class="note">Per cell, the converged rate had every run stopped after each epoch ` +
    `(scored by the same rule, ${escapeHtml(ruleText(input))}), with its 95% Wilson band. ` +
    `A curve still rising at the last epoch says the budget, not the setting, limits the rate.` +
    (b.flat > 0 ? ` ${b.flat} cell${b.flat === 1 ? '' : 's'} where no run converged at any epoch ${b.flat === 1 ? 'is' : 'are'} not drawn.` : '') +
    `</p>\n<figure id="budget-curves" class="panels">${b.svgs.join('\n')}</figure>`
  );
}

/** What the learning-curve panels draw: lines per run, per-outcome medians and bands, or both. */
function curvesNote(input: ReportInput, figure: { lines: number; bands: number; maxPoints: number }): string {
  const perRun = `one line per run (at most ${figure.maxPoints} points a run)`;
  const band =
    `per outcome, the median of that outcome's runs at each epoch (line) and their interquartile range, ` +
    `25th to 75th percentile (band); a run counts at the epochs it recorded, and the panel's title gives each outcome's number of runs`;
  const head = `The rule's metric, ${input.metric}, per epoch (log scale), coloured by outcome`;
  const what =
    figure.bands === 0 ? `${head}: ${perRun}.`
    : figure.lines === 0 ? `${head}. Every cell has more than ${MAX_RUN_LINES} runs, too many lines to tell apart, so each panel draws ${band}.`
    : `${head}. Cells with more than ${MAX_RUN_LINES} runs draw ${band}; cells with at most ${MAX_RUN_LINES} runs draw ${perRun}.`;
  return `${what} The dashed line is the convergence threshold (${input.threshold}).`;
}

/** A table of items with the same columns as the text tables, escaped, in a scrolling wrapper. */
export function htmlTable<T>(cols: readonly TextColumn<T>[], items: readonly T[]): string {
  const head = cols.map((c) => `<th class="${c.align}">${escapeHtml(c.header)}</th>`).join('');
  const body = items
    .map((item) => `<tr>${cols.map((c) => `<td class="${c.align}">${escapeHtml(c.cell(item))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<div class="table-wrap"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

function cellsTable(cells: readonly CellSummary[], axes: readonly string[]): string {
  return htmlTable(humanColumns(cells, axes), cells);
}

function summaryLine(input: ReportInput, cells: readonly CellSummary[]): string {
  const t = tallyRuns(input.runs);
  const infra = t.outcomes.failed + t.outcomes.timed_out;
  return (
    `${cells.length} cell${cells.length === 1 ? '' : 's'}, ${t.runs} run${t.runs === 1 ? '' : 's'}` +
    (t.unfinished > 0 ? ` (${t.unfinished} not finished)` : '') +
    (infra > 0 ? ` (${infra} failed or timed out: not in n)` : '') +
    (t.lacksMetric > 0 ? ` (${t.lacksMetric} lack ${input.metric}: not in n)` : '') +
    `; ${t.k} of ${t.n} finished runs converged (${input.metric} ${isUser(input) && input.direction === 'above' ? 'above' : 'below'} ${input.threshold}${isUser(input) && input.at === 'best' ? ' at the best epoch' : ''}). ` +
    `Rates are k/n over finished seeds with 95% Wilson intervals.`
  );
}

const CSS = `
body { font-family: ${FONT}; margin: 2rem auto; max-width: 1120px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h1 .sweep { color: #2f5f8a; }
h2 { font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 1px solid #e3e3e3; padding-bottom: .25rem; }
p.summary { font-size: 1.02rem; margin-top: .3rem; } p.note { color: #555; font-size: .9rem; margin: .3rem 0 .8rem; }
figure, .table-wrap { margin: 0; overflow-x: auto; }
figure.panels { display: flex; flex-wrap: wrap; gap: 1rem 1.6rem; align-items: flex-start; }
p.legend { font-size: .85rem; color: #444; margin: .2rem 0 .8rem; }
.key { margin-right: .8rem; white-space: nowrap; } .swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -.1rem; border-radius: 2px; }
.ramp { display: inline-block; width: 7rem; height: .75rem; vertical-align: -.1rem; border: 1px solid #ccc; }
table { border-collapse: collapse; font-size: .88rem; font-variant-numeric: tabular-nums; }
th, td { padding: .26rem .45rem; border-bottom: 1px solid #eee; white-space: nowrap; }
th { background: #f6f6f6; border-bottom: 1px solid #ccc; } .right { text-align: right; } .left { text-align: left; }
tbody tr:hover { background: #fafafa; }
svg text { font-family: ${FONT}; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .8rem; font-size: .9rem; margin: .6rem 0; }
dl.meta dt { color: #666; } dl.meta dd { margin: 0; overflow-wrap: anywhere; }
h3 { font-size: 1rem; margin: 1.6rem 0 .3rem; } p.warn { color: #8a4b00; font-size: .9rem; margin: .3rem 0; }
`;

/**
 * The whole report as one HTML document: the header (what the sweep is, its rule, engine, seeds,
 * fixed settings and source), a convergence-rate heatmap with k/n and interval labels, learning
 * curves per cell (when `input.epochs` is given), outcome counts per cell, and the cells table.
 * Panels are separate SVGs that the page wraps, so the report fits 1,200 px for any number of axes.
 * No scripts and no external resources; a Content-Security-Policy says so.
 */
export async function renderHtmlReport(input: ReportInput, cells: readonly CellSummary[], context: ReportContext = {}, extraSections: readonly string[] = []): Promise<string> {
  const varying = varyingAxes(input.axes, cells);
  const [rate, curveFigure, outcomesSvg, budget] = await Promise.all([
    rateFigure(varying, cells),
    learningCurves(input, cells, varying),
    renderSvg(outcomeBars(cells, varying)),
    budgetFigure(cells, varying),
  ]);
  const layout = rate.layout;
  const rateTitle = layout ? `Convergence rate by ${layout.y} × ${layout.x}` : 'Convergence rate';
  const rateNote = layout
    ? `Each square is one cell: the label is k/n, seeds that converged out of seeds finished` +
      (rate.faded ? '' : ', above its 95% Wilson interval') +
      `; colour is the rate.` +
      (layout.panels.length > 0 ? ` One panel per ${layout.panels.join(' × ')}.` : '') +
      ` Empty squares: no runs with those settings.`
    : 'Bars are k/n, seeds that converged out of seeds finished; lines are 95% Wilson intervals.';
  const curves = curveFigure
    ? `<h2>Learning curves</h2>\n<p class="note">${escapeHtml(curvesNote(input, curveFigure))}</p>\n${outcomeLegend(isUser(input))}\n<figure id="learning-curves" class="panels">${curveFigure.svgs.join('\n')}</figure>`
    : input.epochs
      ? `<h2>Learning curves</h2>\n<p class="note">No epochs recorded yet.</p>`
      : '';
  const title = `Convergence report: ${input.sweepName}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(title)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Convergence report: <span class="sweep">${escapeHtml(input.sweepName)}</span></h1>
<dl class="meta">${headerFields(input, context).map((f) => `<dt>${escapeHtml(f.label)}</dt><dd>${escapeHtml(f.value)}</dd>`).join('')}</dl>
<p class="summary">${escapeHtml(summaryLine(input, cells))}</p>
<h2>${escapeHtml(rateTitle)}</h2>
<p class="note">${escapeHtml(rateNote)}</p>
${layout ? rateLegend(rate.faded) : ''}
<figure id="heatmap" class="panels">${rate.svgs.join('\n')}</figure>
${curves}
${budget ? budgetSection(budget, input) : ''}
<h2>Outcomes per cell</h2>
<p class="note">${escapeHtml(isUser(input) ? USER_OUTCOMES_NOTE : BUILTIN_OUTCOMES_NOTE)}</p>
${outcomeLegend(isUser(input))}
<figure id="outcomes">${outcomesSvg}</figure>
${extraSections.join('\n')}
<h2>Cells</h2>
${cellsTable(cells, input.axes)}
</body>
</html>
`;
}
