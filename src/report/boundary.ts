/**
 * The "boundary" figure of the HTML report: per boundary (e.g. per L), the convergence rate at
 * each probed value on a log axis with its 95 % Wilson interval, the fitted logistic curve, the
 * target rate, and the estimate with its 95 % interval as a shaded band. Rows in, a Vega-Lite
 * spec out; the caller renders it.
 */
import type { TopLevelSpec } from 'vega-lite/build/index';
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
    `<figure id="boundary">${svg}</figure>\n<ul class="boundaries">${notes}</ul>`
  );
}

function escape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
