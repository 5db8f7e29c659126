/**
 * How a boundary scales with a setting (issue 19: does N50 grow like L^α?): per epoch budget, the
 * boundary estimates of a search against the one numeric setting its boundaries differ in, on
 * log-log axes, and a power law fitted to them.
 *
 * The fit is weighted least squares of log estimate on log setting, each point weighted by the
 * inverse variance read off its own 95 % interval (half its width on the log scale over 1.96).
 * With those variances taken as known, the slope's standard error is 1/sqrt(Σ w (x − x̄)²) and
 * its 95 % interval is normal; the weighted residual sum of squares is χ² with n − 2 degrees of
 * freedom when a power law holds, so a small p-value says the points bend away from any power
 * law (then α is a summary, not a law). Points without a two-sided interval are left out.
 * Coverage of the interval is checked in simulation (test/report/scaling.test.ts).
 */
import type { TopLevelSpec } from 'vega-lite/build/index';
import { chiSquareSf } from './heterogeneity';

export interface ScalingPoint {
  /** The setting the boundaries differ in (e.g. seq_len). */
  x: number;
  estimate: number;
  ciLow: number;
  ciHigh: number;
}

export interface PowerLawFit {
  /** The exponent: estimate ∝ x^alpha. */
  alpha: number;
  alphaLow: number;
  alphaHigh: number;
  /** Points used (those with a two-sided interval). */
  points: number;
  /** Lack of fit: P(χ²(points − 2) ≥ the weighted residual sum of squares); null with 2 points. */
  lackOfFitP: number | null;
}

const Z95 = 1.959963984540054;

/** The power law through the points, or null with fewer than 2 usable points or one setting value. */
export function fitPowerLaw(points: readonly ScalingPoint[]): PowerLawFit | null {
  const use = points.filter((p) => p.estimate > 0 && p.ciLow > 0 && p.ciHigh > p.ciLow && Number.isFinite(p.ciHigh));
  if (use.length < 2) return null;
  const xs = use.map((p) => Math.log(p.x));
  const ys = use.map((p) => Math.log(p.estimate));
  const ws = use.map((p) => {
    const se = (Math.log(p.ciHigh) - Math.log(p.ciLow)) / (2 * Z95);
    return 1 / (se * se);
  });
  const sw = ws.reduce((a, b) => a + b, 0);
  const xbar = ws.reduce((a, w, i) => a + w * xs[i]!, 0) / sw;
  const ybar = ws.reduce((a, w, i) => a + w * ys[i]!, 0) / sw;
  const sxx = ws.reduce((a, w, i) => a + w * (xs[i]! - xbar) ** 2, 0);
  if (!(sxx > 0)) return null;
  const sxy = ws.reduce((a, w, i) => a + w * (xs[i]! - xbar) * (ys[i]! - ybar), 0);
  const alpha = sxy / sxx;
  const se = 1 / Math.sqrt(sxx);
  const rss = ws.reduce((a, w, i) => a + w * (ys[i]! - ybar - alpha * (xs[i]! - xbar)) ** 2, 0);
  return {
    alpha,
    alphaLow: alpha - Z95 * se,
    alphaHigh: alpha + Z95 * se,
    points: use.length,
    lackOfFitP: use.length > 2 ? chiSquareSf(rss, use.length - 2) : null,
  };
}

export interface ScalingRow {
  /** The setting's value, e.g. L. */
  x: number;
  epochs: number;
  bracketed: boolean;
  estimate: number | null;
  ciLow: number | null;
  ciHigh: number | null;
}

/** Log-log: the boundary against the setting, one line per epoch budget, 95 % interval bars. */
export function scalingChart(setting: string, axis: string, rows: readonly ScalingRow[]): TopLevelSpec {
  const values = rows
    .filter((r) => r.bracketed && r.estimate !== null)
    .map((r) => ({ x: r.x, budget: `${r.epochs} epochs`, epochs: r.epochs, y: r.estimate, lo: r.ciLow ?? r.estimate, hi: r.ciHigh ?? r.estimate }));
  const x = { field: 'x', type: 'quantitative', scale: { type: 'log' }, title: `${setting} (log scale)` } as const;
  const y = { field: 'y', type: 'quantitative', scale: { type: 'log' }, title: `${axis} at the target rate (log scale)` } as const;
  const color = { field: 'budget', type: 'nominal', sort: { field: 'epochs' }, title: 'epoch budget' } as const;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    data: { values },
    width: 420,
    height: 300,
    layer: [
      { mark: { type: 'line', point: true }, encoding: { x, y, color } },
      { mark: { type: 'rule' }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color } },
    ],
  } as unknown as TopLevelSpec;
}
