/**
 * The "boundary" figure of the HTML report: per boundary (e.g. per L), the convergence rate at
 * each probed value on a log axis with its 95 % Wilson interval, the fitted logistic curve, the
 * target rate, and the estimate with its 95 % interval as a shaded band. Rows in, a Vega-Lite
 * spec out; the caller renders it.
 */
import type { TopLevelSpec } from 'vega-lite/build/index';
import { fitPowerLaw, scalingChart, type ScalingRow } from './scaling';
import { wilson } from './stats';

export interface BoundaryFigureInput {
  /** e.g. "seq_len=200". */
  label: string;
  lo: number;
  hi: number;
  target: number;
  bracketed: boolean;
  verdict: string;
  estimate: number | null;
  ciLow: number | null;
  ciHigh: number | null;
  slope: number | null;
  /** The fitted ceiling of the rate (1, or absent, for a curve that rises all the way). */
  ceiling?: number | null;
  runs: number;
  probes: { value: number; k: number; n: number }[];
  /** The boundary's fixed settings (search.for), e.g. {seq_len: 200}. */
  fixed?: Readonly<Record<string, unknown>>;
  /** With search.budgets: the answer at each epoch budget. */
  budgets?: { epochs: number; bracketed: boolean; estimate: number | null; ciLow: number | null; ciHigh: number | null }[];
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function boundaryChart(axis: string, boundaries: readonly BoundaryFigureInput[]): TopLevelSpec {
  const values: Record<string, unknown>[] = [];
  for (const b of boundaries) {
    for (const p of b.probes) {
      if (p.n === 0) continue;
      const ci = wilson(p.k, p.n);
      values.push({ boundary: b.label, kind: 'probe', x: p.value, rate: p.k / p.n, lo: ci.lo, hi: ci.hi, k: p.k, n: p.n });
    }
    if (b.estimate !== null && b.slope !== null) {
      // The search's model: top · σ(logit(target/top) + slope · (log x − log estimate)).
      const top = b.ceiling ?? 1;
      const l0 = Math.log(b.target / top / (1 - b.target / top));
      for (let i = 0; i <= 80; i++) {
        const x = b.lo * (b.hi / b.lo) ** (i / 80);
        values.push({ boundary: b.label, kind: 'fit', x, rate: top * sigmoid(l0 + b.slope * (Math.log(x) - Math.log(b.estimate))) });
      }
    }
    if (b.bracketed && b.estimate !== null) {
      values.push({
        boundary: b.label,
        kind: 'estimate',
        x: b.estimate,
        x1: Math.max(b.ciLow ?? b.lo, b.lo),
        x2: Math.min(b.ciHigh ?? b.hi, b.hi),
        rate: b.target,
      });
    }
    values.push({ boundary: b.label, kind: 'target', rate: b.target });
  }
  const x = { field: 'x', type: 'quantitative', scale: { type: 'log' }, title: `${axis} (log scale)` } as const;
  const y = { field: 'rate', type: 'quantitative', scale: { domain: [0, 1] }, title: 'convergence rate' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values },
    facet: { field: 'boundary', type: 'nominal', title: null },
    columns: 2,
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 300,
      height: 200,
      layer: [
        { transform: [{ filter: "datum.kind === 'estimate'" }], mark: { type: 'rect', opacity: 0.15, color: '#4c78a8' }, encoding: { x: { ...x, field: 'x1' }, x2: { field: 'x2' } } },
        { transform: [{ filter: "datum.kind === 'target'" }], mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { y } },
        { transform: [{ filter: "datum.kind === 'fit'" }], mark: { type: 'line', color: '#4c78a8' }, encoding: { x, y } },
        { transform: [{ filter: "datum.kind === 'probe'" }], mark: { type: 'rule', color: '#e45756' }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
        {
          transform: [{ filter: "datum.kind === 'probe'" }],
          mark: { type: 'point', filled: true, color: '#e45756' },
          encoding: { x, y, size: { field: 'n', type: 'quantitative', title: 'runs (n)' }, tooltip: [{ field: 'x', title: axis }, { field: 'k' }, { field: 'n' }] },
        },
        { transform: [{ filter: "datum.kind === 'estimate'" }], mark: { type: 'rule', color: '#4c78a8', strokeWidth: 2 }, encoding: { x } },
      ],
    },
  } as unknown as TopLevelSpec;
}

/** One line per boundary under the figure. */
export function boundaryNote(axis: string, b: BoundaryFigureInput): string {
  const f = (v: number | null) => (v === null ? '–' : v >= 100 ? v.toFixed(0) : v.toPrecision(3));
  if (b.bracketed) return `${b.label}: ${axis} at rate ${b.target} ≈ ${f(b.estimate)}, 95% CI [${f(b.ciLow)}, ${f(b.ciHigh)}], ${b.runs} runs`;
  if (b.verdict === 'above' || b.verdict === 'below') return `${b.label}: not bracketed: the rate is ${b.verdict} ${b.target} everywhere in [${b.lo}, ${b.hi}] (${b.runs} runs)`;
  return `${b.label}: undetermined after ${b.runs} runs`;
}

/** The report's "boundary" section (HTML), or '' when the sweep has no search. */
export async function renderBoundarySection(axis: string, boundaries: readonly BoundaryFigureInput[], render: (spec: TopLevelSpec) => Promise<string>): Promise<string> {
  if (boundaries.length === 0) return '';
  const svg = await render(boundaryChart(axis, boundaries));
  const notes = boundaries.map((b) => `<li>${escape(boundaryNote(axis, b))}</li>`).join('');
  return (
    `<h2>Boundary: where the rate crosses ${escape(String(boundaries[0]!.target))}</h2>\n` +
    `<p class="note">Per boundary: the rate at each probed ${escape(axis)} (dots sized by runs, 95% Wilson intervals), the fitted logistic curve in log ${escape(axis)}, ` +
    `the target rate (dashed) and the estimate with its 95% profile-likelihood interval (band).</p>\n` +
    `<figure id="boundary">${svg}</figure>\n<ul class="boundaries">${notes}</ul>` +
    (await renderScaling(axis, boundaries, render))
  );
}

/**
 * With epoch budgets and boundaries that differ in one numeric setting (e.g. seq_len): the
 * boundary against that setting, log-log, one line per budget, and a power law fitted per budget.
 */
async function renderScaling(axis: string, boundaries: readonly BoundaryFigureInput[], render: (spec: TopLevelSpec) => Promise<string>): Promise<string> {
  const setting = scalingSetting(boundaries);
  if (!setting || !boundaries.some((b) => b.budgets?.length)) return '';
  const rows: ScalingRow[] = boundaries.flatMap((b) =>
    (b.budgets ?? []).map((x) => ({ x: Number(b.fixed![setting]), epochs: x.epochs, bracketed: x.bracketed, estimate: x.estimate, ciLow: x.ciLow, ciHigh: x.ciHigh })),
  );
  const svg = await render(scalingChart(setting, axis, rows));
  const fits = scalingFits(rows).map(({ epochs, fit }) => {
    if (!fit) return `<li>${epochs} epochs: fewer than two bracketed boundaries with a two-sided interval: no fit</li>`;
    const bend = fit.lackOfFitP !== null && fit.lackOfFitP < 0.05 ? `; the points bend away from a power law (lack of fit p = ${fit.lackOfFitP.toPrecision(2)}): α summarises, it is not a law` : fit.lackOfFitP !== null ? `; lack of fit p = ${fit.lackOfFitP.toPrecision(2)}` : '';
    return `<li>${epochs} epochs: ${escape(axis)} ∝ ${escape(setting)}<sup>α</sup>, α = ${fit.alpha.toFixed(2)}, 95% CI [${fit.alphaLow.toFixed(2)}, ${fit.alphaHigh.toFixed(2)}] from ${fit.points} boundaries${escape(bend)}</li>`;
  });
  return (
    `\n<h3>How the boundary scales with ${escape(setting)}, per epoch budget</h3>\n` +
    `<p class="note">Each point is a bracketed boundary at one epoch budget (the same runs scored as if they had stopped there) with its 95% interval; ` +
    `α is a weighted least-squares fit of log ${escape(axis)} on log ${escape(setting)}, each boundary weighted by its own interval. ` +
    `The boundaries of one search reuse seed numbers, so their estimates are not fully independent; α's interval assumes they are.</p>\n` +
    `<figure id="scaling">${svg}</figure>\n<ul class="scaling">${fits.join('')}</ul>`
  );
}

/** The one numeric setting the boundaries differ in, or undefined. */
export function scalingSetting(boundaries: readonly BoundaryFigureInput[]): string | undefined {
  if (boundaries.length < 2 || boundaries.some((b) => !b.fixed)) return undefined;
  const keys = Object.keys(boundaries[0]!.fixed!);
  const varying = keys.filter((k) => new Set(boundaries.map((b) => JSON.stringify(b.fixed![k]))).size > 1);
  if (varying.length !== 1) return undefined;
  const k = varying[0]!;
  return boundaries.every((b) => typeof b.fixed![k] === 'number' && (b.fixed![k] as number) > 0) ? k : undefined;
}

/** The power law per epoch budget, over the bracketed boundaries. */
export function scalingFits(rows: readonly ScalingRow[]): { epochs: number; fit: ReturnType<typeof fitPowerLaw> }[] {
  const budgets = [...new Set(rows.map((r) => r.epochs))].sort((a, b) => a - b);
  return budgets.map((epochs) => ({
    epochs,
    fit: fitPowerLaw(
      rows
        .filter((r) => r.epochs === epochs && r.bracketed && r.estimate !== null && r.ciLow !== null && r.ciHigh !== null)
        .map((r) => ({ x: r.x, estimate: r.estimate!, ciLow: r.ciLow!, ciHigh: r.ciHigh! })),
    ),
  }));
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
