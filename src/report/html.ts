/**
 * One self-contained HTML report: charts are Vega-Lite specs compiled and rendered to inline SVG
 * here in Node, so the file opens offline, with no script at all, in any browser or mail client.
 */
import type * as Vega from 'vega';
// vega-lite's package.json declares its types only under "exports", which TypeScript's `node`
// (node10) resolution used by this CommonJS project does not read; the deep path resolves the
// same declarations. It is used for types only: at run time we import the package entry.
import type * as VegaLite from 'vega-lite/build/index';
import type { TopLevelSpec } from 'vega-lite/build/index';
import { metricOf } from '../outcome';
import { cellKey, compareParamValues, tallyRuns } from './cells';
import { humanColumns } from './format';
import { OUTCOMES } from './types';
import type { CellSummary, ParamValue, ReportInput } from './types';

// vega 6 and vega-lite 6 are ESM-only and use top-level await, so `require()` fails on Node 20
// (ERR_REQUIRE_ASYNC_MODULE). A plain `import()` in this file would be rewritten by TypeScript's
// CommonJS output into `require()`; hiding it in a Function keeps it a real dynamic import.
// This is the known pattern for loading ESM from CommonJS TypeScript: microsoft/TypeScript#43329,
// angular/angular-cli#21771. (moduleResolution node16 would keep import() but changes every import.)
const dynImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;

interface Renderers { vega: typeof Vega; vegaLite: typeof VegaLite }
let renderers: Promise<Renderers> | undefined;

// Loaded lazily and once: `report` as a table or CSV should not pay for loading vega.
function loadRenderers(): Promise<Renderers> {
  renderers ??= Promise.all([dynImport('vega'), dynImport('vega-lite')]).then(([vega, vegaLite]) => ({
    vega: vega as typeof Vega,
    vegaLite: vegaLite as typeof VegaLite,
  }));
  return renderers;
}

/** Compile a Vega-Lite spec and render it headless to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { vega, vegaLite } = await loadRenderers();
  const compiled = vegaLite.compile(spec);
  // renderer 'none': no DOM and no canvas needed; toSVG() serialises the scenegraph itself.
  const view = new vega.View(vega.parse(compiled.spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize(); // release timers and listeners so the process can exit
  }
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

// ---- colours: one fixed palette for every chart, so an outcome has one colour throughout -----

// Pending, running, or finished without the rule's metric: not in any rate.
const UNFINISHED = 'unfinished';
const OUTCOME_DOMAIN: string[] = [...OUTCOMES, UNFINISHED];
const OUTCOME_RANGE: string[] = [
  '#2a9d3f', // converged: green
  '#f08c1c', // not_converged: orange
  '#7f7f7f', // dead_at_init: grey (the seed never started)
  '#3b3b3b', // dead: near black (the output is stuck at 0)
  '#d62728', // diverged: red
  '#8c564b', // failed: brown
  '#9467bd', // timed_out: purple
  '#c7c7c7', // pending or running: light grey
];
const outcomeColor = { field: 'outcome', type: 'nominal', title: 'outcome', scale: { domain: OUTCOME_DOMAIN, range: OUTCOME_RANGE } } as const;

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';
const CHART_CONFIG = { font: FONT, view: { stroke: '#ddd' }, axis: { labelFontSize: 11, titleFontSize: 12 } } as const;

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

// ---- the charts --------------------------------------------------------------------------

/** Which two axes the heatmap uses, and which are left for panels. */
export function heatmapAxes(axes: readonly string[]): { y: string; x: string; panels: string[] } | null {
  if (axes.includes('seq_len') && axes.includes('n_samples')) {
    return { y: 'seq_len', x: 'n_samples', panels: axes.filter((a) => a !== 'seq_len' && a !== 'n_samples') };
  }
  if (axes.length >= 2) return { y: axes[0]!, x: axes[1]!, panels: axes.slice(2) };
  return null;
}

function rateChart(input: ReportInput, cells: readonly CellSummary[]): TopLevelSpec {
  const layout = heatmapAxes(input.axes);
  const rows = cells.map((c) => ({
    rate: c.rate,
    label: `${c.converged}/${c.n}`,
    lo: c.ci.lo,
    hi: c.ci.hi,
    cell: c.key || 'all runs',
    ...Object.fromEntries(Object.entries(c.params).map(([k, v]) => [k, plain(v)])),
    panel: layout ? cellKey(layout.panels, c.params) : '',
  }));
  const rateColor = { field: 'rate', type: 'quantitative', title: 'convergence rate', scale: { domain: [0, 1], scheme: 'blues' } } as const;

  if (!layout) {
    // One axis (or none): a bar per value with its 95% interval; the heatmap would be one row.
    const x = input.axes[0];
    const xEnc = x
      ? { field: x, type: 'ordinal', sort: distinctSorted(cells, x), title: x, axis: { labelAngle: 0 } }
      : { field: 'cell', type: 'nominal', title: null, axis: { labelAngle: 0 } };
    return {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      config: CHART_CONFIG,
      data: { values: rows },
      width: { step: 48 },
      height: 220,
      layer: [
        { mark: { type: 'bar', color: '#4c78a8' }, encoding: { x: xEnc, y: { field: 'rate', type: 'quantitative', scale: { domain: [0, 1] }, title: 'convergence rate' } } },
        { mark: { type: 'rule', color: '#333' }, encoding: { x: xEnc, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
        { mark: { type: 'text', dy: -8, fontSize: 11 }, encoding: { x: xEnc, y: { field: 'hi', type: 'quantitative' }, text: { field: 'label' } } },
      ],
    } as TopLevelSpec;
  }

  const { x, y, panels } = layout;
  const enc = {
    x: { field: x, type: 'ordinal', sort: distinctSorted(cells, x), title: x, axis: { labelAngle: 0 } },
    y: { field: y, type: 'ordinal', sort: distinctSorted(cells, y), title: y },
  } as const;
  const inner = {
    width: { step: 68 },
    height: { step: 46 },
    layer: [
      { mark: { type: 'rect', stroke: 'white', strokeWidth: 1 }, encoding: { ...enc, color: rateColor } },
      {
        mark: { type: 'text', fontSize: 13, fontWeight: 'bold' },
        encoding: {
          ...enc,
          text: { field: 'label' },
          // Dark cells get white text so the k/n label stays readable.
          color: { condition: { test: 'datum.rate !== null && datum.rate > 0.55', value: 'white' }, value: '#222' },
        },
      },
    ],
  };
  if (panels.length === 0) {
    return { $schema: 'https://vega.github.io/schema/vega-lite/v6.json', config: CHART_CONFIG, data: { values: rows }, ...inner } as TopLevelSpec;
  }
  const panelOrder = [...new Set(cells.map((c) => cellKey(panels, c.params)))];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CHART_CONFIG,
    data: { values: rows },
    facet: { field: 'panel', type: 'nominal', sort: panelOrder, title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } },
    // Two panels a row keep the figure about as wide as the page; more would scroll sideways.
    columns: panels.length === 1 ? Math.min(panelOrder.length, 3) : 2,
    spec: inner,
  } as TopLevelSpec;
}

interface RunIndex { cell: string; outcome: string }

function indexRuns(input: ReportInput): Map<number, RunIndex> {
  const byId = new Map<number, RunIndex>();
  for (const r of input.runs) {
    byId.set(r.id, { cell: cellKey(input.axes, r.params) || 'all runs', outcome: r.outcome ?? UNFINISHED });
  }
  return byId;
}

function learningCurves(input: ReportInput, cells: readonly CellSummary[]): TopLevelSpec | null {
  const runs = indexRuns(input);
  // The curves show the rule's metric, so the threshold line is the one the outcomes were decided by.
  const points: { cell: string; run: number; epoch: number; value: number; outcome: string }[] = [];
  for (const e of input.epochs ?? []) {
    const r = runs.get(e.runId);
    const v = metricOf(e, input.metric);
    // A log scale cannot show 0, NaN or Inf (diverged runs); those runs end where the values stop.
    if (r === undefined || v === null || !(Number.isFinite(v) && v > 0)) continue;
    points.push({ cell: r.cell, run: e.runId, epoch: e.epoch, value: v, outcome: r.outcome });
  }
  if (points.length === 0) return null;
  const line = {
    mark: { type: 'line', strokeWidth: 1, opacity: 0.75, interpolate: 'linear' },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', title: 'epoch' },
      y: { field: 'value', type: 'quantitative', scale: { type: 'log' }, title: `${input.metric} (log)` },
      color: outcomeColor,
      detail: { field: 'run', type: 'nominal' },
    },
  };
  const layer: object[] = [line];
  if (input.threshold > 0) {
    layer.push({ mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { y: { datum: input.threshold } } });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CHART_CONFIG,
    data: { values: points },
    facet: { field: 'cell', type: 'nominal', sort: cells.map((c) => c.key || 'all runs'), title: null, header: { labelFontSize: 11 } },
    columns: 3,
    spec: { width: 230, height: 130, layer },
  } as TopLevelSpec;
}

function outcomeBars(cells: readonly CellSummary[]): TopLevelSpec {
  const rows: { cell: string; outcome: string; count: number; order: number }[] = [];
  for (const c of cells) {
    const label = c.key || 'all runs';
    OUTCOMES.forEach((o, i) => {
      if (c.outcomes[o] > 0) rows.push({ cell: label, outcome: o, count: c.outcomes[o], order: i });
    });
    const unfinished = c.runs - OUTCOMES.reduce((s, o) => s + c.outcomes[o], 0);
    if (unfinished > 0) rows.push({ cell: label, outcome: UNFINISHED, count: unfinished, order: OUTCOMES.length });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CHART_CONFIG,
    data: { values: rows },
    width: 420,
    height: { step: 20 },
    mark: { type: 'bar' },
    encoding: {
      y: { field: 'cell', type: 'nominal', sort: cells.map((c) => c.key || 'all runs'), title: null, axis: { labelLimit: 400 } },
      x: { field: 'count', type: 'quantitative', title: 'runs', stack: 'zero', axis: { tickMinStep: 1 } },
      color: outcomeColor,
      order: { field: 'order', type: 'quantitative' },
    },
  } as TopLevelSpec;
}

// ---- the page ------------------------------------------------------------------------------

function cellsTable(cells: readonly CellSummary[], axes: readonly string[]): string {
  const cols = humanColumns(cells, axes);
  const head = cols.map((c) => `<th class="${c.align}">${escapeHtml(c.header)}</th>`).join('');
  const body = cells
    .map((cell) => `<tr>${cols.map((c) => `<td class="${c.align}">${escapeHtml(c.cell(cell))}</td>`).join('')}</tr>`)
    .join('\n');
  return `<div class="table-wrap"><table>\n<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table></div>`;
}

function summaryLine(input: ReportInput, cells: readonly CellSummary[]): string {
  const t = tallyRuns(input.runs);
  const infra = t.outcomes.failed + t.outcomes.timed_out;
  return (
    `${cells.length} cell${cells.length === 1 ? '' : 's'}, ${t.runs} run${t.runs === 1 ? '' : 's'}` +
    (t.unfinished > 0 ? ` (${t.unfinished} not finished)` : '') +
    (infra > 0 ? ` (${infra} failed or timed out: not in n)` : '') +
    (t.lacksMetric > 0 ? ` (${t.lacksMetric} lack ${input.metric}: not in n)` : '') +
    `; ${t.k} of ${t.n} finished runs converged (${input.metric} below ${input.threshold}). ` +
    `Rates are k/n over finished seeds with 95% Wilson intervals.`
  );
}

const CSS = `
body { font-family: ${FONT}; margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h1 .sweep { color: #2f5f8a; }
h2 { font-size: 1.15rem; margin-top: 2.2rem; border-bottom: 1px solid #e3e3e3; padding-bottom: .25rem; }
p.summary { font-size: 1.02rem; margin-top: .3rem; } p.note { color: #555; font-size: .9rem; margin: .3rem 0 .8rem; }
figure, .table-wrap { margin: 0; overflow-x: auto; } figure svg { max-width: none; }
table { border-collapse: collapse; font-size: .88rem; font-variant-numeric: tabular-nums; }
th, td { padding: .26rem .45rem; border-bottom: 1px solid #eee; white-space: nowrap; }
th { background: #f6f6f6; border-bottom: 1px solid #ccc; } .right { text-align: right; } .left { text-align: left; }
tbody tr:hover { background: #fafafa; }
`;

/**
 * The whole report as one HTML document: title and summary, a convergence-rate heatmap with k/n
 * labels, learning curves per cell (when `input.epochs` is given), outcome counts per cell, and
 * the cells table. No scripts and no external resources; a Content-Security-Policy says so.
 */
export async function renderHtmlReport(input: ReportInput, cells: readonly CellSummary[]): Promise<string> {
  const layout = heatmapAxes(input.axes);
  const curvesSpec = learningCurves(input, cells);
  const [rateSvg, curvesSvg, outcomesSvg] = await Promise.all([
    renderSvg(rateChart(input, cells)),
    curvesSpec ? renderSvg(curvesSpec) : Promise.resolve(null),
    renderSvg(outcomeBars(cells)),
  ]);
  const rateTitle = layout ? `Convergence rate by ${layout.y} × ${layout.x}` : 'Convergence rate';
  const rateNote = layout
    ? `Each square is one cell: the label is k/n, seeds that converged out of seeds finished; colour is the rate.` +
      (layout.panels.length > 0 ? ` One panel per ${layout.panels.join(' × ')}.` : '') +
      ` Empty squares: no runs with those settings.`
    : 'Bars are k/n, seeds that converged out of seeds finished; lines are 95% Wilson intervals.';
  const curves = curvesSvg
    ? `<h2>Learning curves</h2>\n<p class="note">${escapeHtml(input.metric)} per epoch, one line per run, coloured by outcome.` +
      ` The dashed line is the convergence threshold (${escapeHtml(String(input.threshold))}).` +
      `</p>\n<figure id="learning-curves">${curvesSvg}</figure>`
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
<p class="summary">${escapeHtml(summaryLine(input, cells))}</p>
<h2>${escapeHtml(rateTitle)}</h2>
<p class="note">${escapeHtml(rateNote)}</p>
<figure id="heatmap">${rateSvg}</figure>
${curves}
<h2>Outcomes per cell</h2>
<p class="note">How each run ended: converged, not converged (trained but stayed above the threshold), dead at init (ReLU output 0 on every training row before the first update), dead (ReLU output stuck at 0 on every input), diverged (NaN or Inf loss), failed, timed out; grey runs have not finished.</p>
<figure id="outcomes">${outcomesSvg}</figure>
<h2>Cells</h2>
${cellsTable(cells, input.axes)}
</body>
</html>
`;
}
