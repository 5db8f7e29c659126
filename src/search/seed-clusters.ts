/**
 * How much the runs of a search under-state the uncertainty of its boundary when runs share
 * seeds. Before issue 19, run r of every probed value used seed + r, and a plain grid still
 * does: one seed's runs at different values share initial weights, and real seeds behave as if
 * each had its own threshold value (issue 19: eight searches on disjoint seeds covered their
 * pooled N50 5 times in 8). The boundary fit treats runs as independent, which is right for the
 * estimate (an independence estimating equation) but not for its spread. The cluster-robust
 * ("sandwich") variance of θ̂ with the seed as the cluster (Liang & Zeger 1986) is right whatever
 * the dependence within a seed; with a handful of seeds it is biased down, so each seed's
 * residuals are corrected by its block of the hat matrix (Mancl & DeRouen 2001, Biometrics
 * 57:126) and the interval uses Student's t with (seeds − parameters) degrees of freedom.
 * Pure numerical code.
 */
import { studentTQuantile } from '../stats';
import { logit, sigmoid, type Estimate } from './logistic';

/** A counted run: log value, outcome, and the seed it may share with runs at other values. */
export interface SeededRun {
  x: number;
  converged: boolean;
  seed: number;
}

export interface SeedVariance {
  /** Model-based (independent runs) variance of θ̂. */
  model: number;
  /** Cluster-robust variance of θ̂ with seeds as clusters (leverage-corrected). */
  robust: number;
  /** Seeds with at least one counted run. */
  seeds: number;
  /** Parameters of the model (θ, the slope, and the ceiling when it is free). */
  parameters: number;
}

/** Solve M y = r for a small dense M (Gaussian elimination with partial pivoting); undefined if singular. */
function solve(m: readonly (readonly number[])[], r: readonly number[]): number[] | undefined {
  const n = r.length;
  const a = m.map((row, i) => [...row, r[i]!]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(a[i]![c]!) > Math.abs(a[piv]![c]!)) piv = i;
    if (Math.abs(a[piv]![c]!) < 1e-12) return undefined;
    [a[c], a[piv]] = [a[piv]!, a[c]!];
    for (let i = c + 1; i < n; i++) {
      const f = a[i]![c]! / a[c]![c]!;
      for (let j = c; j <= n; j++) a[i]![j]! -= f * a[c]![j]!;
    }
  }
  const y = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = a[i]![n]!;
    for (let j = i + 1; j < n; j++) s -= a[i]![j]! * y[j]!;
    y[i] = s / a[i]![i]!;
  }
  return y;
}

/** The inverse of a small symmetric positive definite matrix, column by column; undefined if singular. */
function inverse(m: readonly (readonly number[])[]): number[][] | undefined {
  const cols: number[][] = [];
  for (let j = 0; j < m.length; j++) {
    const c = solve(m, m.map((_, i) => (i === j ? 1 : 0)));
    if (!c) return undefined;
    cols.push(c);
  }
  return m.map((_, i) => cols.map((c) => c[i]!));
}

const dot = (a: readonly number[], b: readonly number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const times = (m: readonly (readonly number[])[], v: readonly number[]) => m.map((row) => dot(row, v));

/**
 * Model-based and seed-cluster-robust variances of θ̂ for the boundary model
 * p(x) = top · σ(logit(target/top) + b (x − θ)) at the estimate, in the parameters (θ, b), plus
 * the ceiling `top` when `ceilingFree`. The runs' scores are (y − p) ∂p/∂β / (p(1 − p)), the
 * bread their expected information A; the meat sums over seeds u u' with
 * u = D' V⁻¹ (I − H)⁻¹ (y − p), H = D A⁻¹ D' V⁻¹ the seed's block of the hat matrix.
 * Undefined when the information is singular.
 */
export function seedVariance(runs: readonly SeededRun[], target: number, est: Estimate, ceilingFree = false): SeedVariance | undefined {
  const { theta, b, top } = est;
  const c = logit(target / top);
  const rows = runs.map((run) => {
    const s = sigmoid(c + b * (run.x - theta));
    const p = top * s;
    const ds = top * s * (1 - s);
    const dp = ceilingFree ? [-b * ds, ds * (run.x - theta), s - ds / (top - target)] : [-b * ds, ds * (run.x - theta)];
    return { r: (run.converged ? 1 : 0) - p, v: p * (1 - p), dp, seed: run.seed };
  });
  const k = ceilingFree ? 3 : 2;
  const A = Array.from({ length: k }, (_, i) => Array.from({ length: k }, (_, j) => rows.reduce((sum, row) => sum + (row.dp[i]! * row.dp[j]!) / row.v, 0)));
  const Ainv = inverse(A);
  if (!Ainv || !(Ainv[0]![0]! > 0)) return undefined;
  const bySeed = new Map<number, typeof rows>();
  for (const row of rows) {
    let g = bySeed.get(row.seed);
    if (!g) bySeed.set(row.seed, (g = []));
    g.push(row);
  }
  const M = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  for (const g of bySeed.values()) {
    let adj: readonly number[];
    if (g.length === 1) {
      // A seed with one run (every seed of a search with fresh seeds): H is its leverage.
      const row = g[0]!;
      const h = dot(row.dp, times(Ainv, row.dp)) / row.v;
      adj = [h < 1 ? row.r / (1 - h) : row.r];
    } else {
      const AinvD = g.map((row) => times(Ainv, row.dp));
      const IminusH = g.map((ri, i) => g.map((rj, j) => (i === j ? 1 : 0) - dot(ri.dp, AinvD[j]!) / rj.v));
      adj = solve(IminusH, g.map((row) => row.r)) ?? g.map((row) => row.r);
    }
    const u = new Array<number>(k).fill(0);
    g.forEach((row, i) => row.dp.forEach((d, j) => (u[j]! += (d * adj[i]!) / row.v)));
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) M[i]![j]! += u[i]! * u[j]!;
  }
  const a0 = Ainv[0]!;
  return { model: a0[0]!, robust: dot(a0, times(M, a0)), seeds: bySeed.size, parameters: k };
}

/**
 * The cut on the profile deviance for a 95 % interval that holds when runs share seeds: the
 * deviance of independent runs over-states the evidence by the ratio of the robust to the model
 * variance of θ̂ (Chandler & Bate 2007, Biometrika 94:167, for the independence likelihood of
 * clustered data), never taken below 1, and the reference is F(1, seeds − parameters) = t²
 * rather than χ²₁. Infinite (no bounded interval) with too few seeds for that.
 */
export function seedClusterCut(runs: readonly SeededRun[], target: number, ceilingFree = false): (est: Estimate) => number {
  return (est) => {
    const v = seedVariance(runs, target, est, ceilingFree && est.top < 1);
    if (!v) return Infinity;
    const df = v.seeds - v.parameters;
    if (df < 1) return Infinity;
    const q = studentTQuantile(0.975, df);
    return Math.max(1, v.robust / v.model) * q * q;
  };
}
