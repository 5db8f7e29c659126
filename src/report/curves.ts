/**
 * Learning curves of the HTML report: per cell, the rule's metric by epoch on a log scale, a line
 * per run, or for a cell of many runs the median and interquartile band per outcome.
 */
import type { TopLevelSpec } from 'vega-lite/build/index';
import { metricOf } from '../outcome';
import { cellKey } from './cells';
import { CHART_CONFIG, OUTCOME_DOMAIN, SCHEMA, UNFINISHED, outcomeColor, renderSvg, wrapPairs, wrapWords } from './chart';
import { curveBand } from './curve-band';
import { downsampleSeries, dropFlatRepeats, evenlySpaced, type SeriesPoint } from './series';
import type { CellSummary, ReportInput } from './types';

interface CurvePoint { run: number; epoch: number; value: number; outcome: string }
interface BandRow { outcome: string; epoch: number; median: number; lo: number; hi: number }
interface RunCurve { run: number; outcome: string; series: SeriesPoint[] }

/**
 * What one learning-curve panel draws: a line per run, or, for a cell of many runs, per outcome
 * the median line and its interquartile band (`counts`: the runs behind each outcome's curve).
 */
type CurvePanel = { kind: 'runs'; points: CurvePoint[] } | { kind: 'band'; rows: BandRow[]; counts: [string, number][] };

// Round tick values on a log scale: 1, 3, 10, 30, … times a power of ten. A log axis left to
// itself draws a hidden tick and grid line for every 1…9 × 10^k, hundreds of elements a panel.
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 3]) {
      const v = Number((m * 10 ** e).toPrecision(1));
      if (v >= lo && v <= hi) ticks.push(v);
    }
  }
  return ticks;
}

/** Per cell, its runs' curves of the rule's metric, each sorted by epoch. */
function runCurves(input: ReportInput): Map<string, RunCurve[]> {
  const runs = new Map(input.runs.map((r) => [r.id, { cell: cellKey(input.axes, r.params) || 'all runs', outcome: r.outcome ?? UNFINISHED }]));
  const byRun = new Map<number, SeriesPoint[]>();
  for (const e of input.epochs ?? []) {
    // A log scale cannot show 0, NaN or Inf (diverged runs); those runs end where the values stop.
    const v = metricOf(e, input.metric);
    if (!runs.has(e.runId) || v === null || !(Number.isFinite(v) && v > 0)) continue;
    let s = byRun.get(e.runId);
    if (!s) byRun.set(e.runId, (s = []));
    s.push({ x: e.epoch, y: v });
  }
  const byCell = new Map<string, RunCurve[]>();
  for (const [id, series] of byRun) {
    const r = runs.get(id)!;
    let curves = byCell.get(r.cell);
    if (!curves) byCell.set(r.cell, (curves = []));
    curves.push({ run: id, outcome: r.outcome, series: series.sort((a, b) => a.x - b.x) });
  }
  return byCell;
}

/** Per outcome (in legend order), the median and interquartile band of its runs' curves. */
function bandPanel(curves: readonly RunCurve[]): CurvePanel {
  const rows: BandRow[] = [];
  const counts: [string, number][] = [];
  for (const outcome of OUTCOME_DOMAIN) {
    const series = curves.filter((c) => c.outcome === outcome).map((c) => c.series);
    if (series.length === 0) continue;
    counts.push([outcome, series.length]);
    // A flat stretch (runs stuck at one value, as dead ones are) is drawn by its two ends alone.
    const band = dropFlatRepeats(curveBand(series), (a, b) => a.median === b.median && a.lo === b.lo && a.hi === b.hi);
    for (const p of evenlySpaced(band, MAX_POINTS_PER_RUN)) rows.push({ outcome, epoch: p.epoch, median: p.median, lo: p.lo, hi: p.hi });
  }
  return { kind: 'band', rows, counts };
}

/** Learning curves: one small panel per cell, all on the same axes, wrapped by the page. */
export async function learningCurves(input: ReportInput, cells: readonly CellSummary[], varying: readonly string[]): Promise<{ svgs: string[]; lines: number; bands: number; maxPoints: number } | null> {
  const byCell = runCurves(input);
  const lineRuns = [...byCell.values()].filter((c) => c.length <= MAX_RUN_LINES).reduce((sum, c) => sum + c.length, 0);
  const maxPoints = pointsPerRun(lineRuns);
  const panels = new Map<string, CurvePanel>();
  for (const [cell, curves] of byCell) {
    panels.set(
      cell,
      curves.length > MAX_RUN_LINES
        ? bandPanel(curves)
        : { kind: 'runs', points: curves.flatMap((c) => downsampleSeries(c.series, maxPoints).map((p) => ({ run: c.run, epoch: p.x, value: p.y, outcome: c.outcome }))) },
    );
  }
  let lo = Infinity;
  let hi = -Infinity;
  let lastEpoch = 1;
  for (const panel of panels.values()) {
    const drawn = panel.kind === 'runs' ? panel.points.map((p) => ({ epoch: p.epoch, lo: p.value, hi: p.value })) : panel.rows;
    for (const p of drawn) {
      lo = Math.min(lo, p.lo);
      hi = Math.max(hi, p.hi);
      lastEpoch = Math.max(lastEpoch, p.epoch);
    }
  }
  if (!Number.isFinite(lo)) return null;
  if (input.threshold > 0) {
    lo = Math.min(lo, input.threshold);
    hi = Math.max(hi, input.threshold);
  }
  const domain = [10 ** Math.floor(Math.log10(lo)), 10 ** Math.ceil(Math.log10(hi))];
  // No vertical grid lines: the horizontal ones at round values are what a reader compares.
  const x = { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { domain: [1, lastEpoch] }, axis: { tickMinStep: 1, grid: false } };
  const y = (field: string) => ({ field, type: 'quantitative', scale: { type: 'log', domain }, title: `${input.metric} (log)`, axis: { values: logTicks(domain[0]!, domain[1]!) } });
  let lines = 0;
  let bands = 0;
  const specs = cells.flatMap((c) => {
    const panel = panels.get(c.key || 'all runs');
    if (!panel) return [];
    const layer: object[] =
      panel.kind === 'runs'
        ? [
            {
              // No ARIA label per line: it would repeat the first point's values for each of hundreds of runs.
              mark: { type: 'line', strokeWidth: 1, opacity: 0.75, interpolate: 'linear', aria: false },
              encoding: { x, y: y('value'), color: outcomeColor, detail: { field: 'run', type: 'nominal' } },
            },
          ]
        : [
            // The band under the line; stack: null, or the outcomes' bands would be piled on each other.
            { mark: { type: 'area', opacity: 0.22, interpolate: 'linear', aria: false }, encoding: { x, y: { ...y('lo'), stack: null }, y2: { field: 'hi' }, color: outcomeColor } },
            { mark: { type: 'line', strokeWidth: 1.6, interpolate: 'linear', aria: false }, encoding: { x, y: y('median'), color: outcomeColor } },
          ];
    // The plotted metric is the rule's, so its threshold is drawn in every panel.
    if (input.threshold > 0) {
      // Its own one-row data: with the panel's data it would draw one rule per point.
      layer.push({ data: { values: [{ threshold: input.threshold }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { y: { field: 'threshold', type: 'quantitative' } } });
    }
    const title = [...wrapPairs(cellKey(varying, c.params) || 'all runs'), `${c.converged}/${c.n} converged`];
    if (panel.kind === 'band') {
      bands++;
      // Each outcome's run count, the n behind its median: "13 converged, 6 not_converged, 11 dead_at_init".
      title.push(...wrapWords(panel.counts.map(([o, n], i) => `${n} ${o}${i < panel.counts.length - 1 ? ',' : ''}`), 34));
    } else lines++;
    // No ARIA descriptions: dozens of panels of lines; the cells table holds their numbers.
    const values = panel.kind === 'runs' ? panel.points : panel.rows;
    return [{ $schema: SCHEMA, config: { ...CHART_CONFIG, aria: false }, title: { text: title }, data: { values }, width: 200, height: 120, layer } as TopLevelSpec];
  });
  return { svgs: await Promise.all(specs.map(renderSvg)), lines, bands, maxPoints };
}

/**
 * A cell with more runs than this draws, per outcome, the median and interquartile band of its
 * runs' learning curves instead of a line per run. Past about ten lines a 200 px panel is a tangle
 * in which no run can be followed, and every line is a path of its own in the file: the 600-run
 * answer-cases report was mostly such paths. Ten seeds (the common small sweep) still show each run.
 */
export const MAX_RUN_LINES = 10;

/** At most this many points a run (or an aggregated curve) in the learning curves. */
export const MAX_POINTS_PER_RUN = 100;
/**
 * At most this many learning-curve points in a whole report's per-run lines: a report with more
 * than 100 runs drawn as lines (many cells of at most MAX_RUN_LINES runs) gets fewer points a run
 * (never below 10), so the curves do not grow with every run's full series. Each run's line also
 * has a fixed cost, so such a report still grows with the number of runs.
 */
export const MAX_CURVE_POINTS = 10_000;

/** Points a run for `runs` runs drawn as lines: MAX_POINTS_PER_RUN up to 100 runs, then fewer. */
export function pointsPerRun(runs: number): number {
  return Math.max(10, Math.min(MAX_POINTS_PER_RUN, Math.floor(MAX_CURVE_POINTS / Math.max(1, runs))));
}
