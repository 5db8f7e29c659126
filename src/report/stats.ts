/**
 * The few statistics a convergence report needs, written out because each is a dozen lines and a
 * dependency would bring far more than that. Reference values in test/report/stats.test.ts come
 * from scipy 1.17.1 and from the hypergeometric formula worked by hand.
 */
import type { Interval, Quartiles } from './types';

/**
 * Wilson score interval for k successes in n trials. Chosen over the textbook normal interval
 * because it stays inside [0, 1] and is not degenerate at 0/n or n/n, which are the common cases
 * here (a cell where no seed converges). See Brown, Cai & DasGupta (2001), "Interval Estimation
 * for a Binomial Proportion".
 * @param z normal quantile; @default 1.959964 (95%)
 */
export function wilson(k: number, n: number, z = 1.959964): Interval {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n) {
    throw new RangeError(`wilson: expected integers 0 <= k <= n, got k=${k}, n=${n}`);
  }
  if (n === 0) return { lo: 0, hi: 1 };
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At k = 0 and k = n the bounds are exactly 0 and 1 in exact arithmetic; pin them so that
  // rounding does not print 1.0000000000000002 or -1e-17.
  return {
    lo: k === 0 ? 0 : Math.max(0, center - half),
    hi: k === n ? 1 : Math.min(1, center + half),
  };
}

/**
 * First quartile, median and third quartile with linear interpolation between order statistics
 * (numpy's default `method='linear'`, R's type 7), so numbers match what a reader gets in Python.
 * Non-finite values are ignored; an empty input gives nulls.
 */
export function quantiles(values: readonly number[]): Quartiles {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return { q1: null, median: null, q3: null };
  const at = (p: number): number => {
    const h = (xs.length - 1) * p;
    const lo = Math.floor(h);
    const a = xs[lo]!;
    const b = xs[Math.min(lo + 1, xs.length - 1)]!;
    return a + (h - lo) * (b - a);
  };
  return { q1: at(0.25), median: at(0.5), q3: at(0.75) };
}

// Stirling's series with its first five correction terms, after shifting x up to at least 15 with
// Γ(x) = Γ(x + m) / (x (x + 1) … (x + m − 1)): past 15 the first omitted term, 691/(360360 x^11),
// is below 1e-15, so the result is accurate to rounding (checked against Python's math.lgamma).
// Node has no Math.lgamma.
const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** log Γ(x) for x > 0. */
export function lgamma(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) throw new RangeError(`lgamma: expected a finite x > 0, got ${x}`);
  let prod = 1;
  while (x < 15) {
    prod *= x;
    x += 1;
  }
  const shift = Math.log(prod);
  const r = 1 / x;
  const r2 = r * r;
  const series = r * (1 / 12 - r2 * (1 / 360 - r2 * (1 / 1260 - r2 * (1 / 1680 - r2 * (1 / 1188)))));
  return (x - 0.5) * Math.log(x) - x + HALF_LOG_2PI + series - shift;
}

function logChoose(n: number, k: number): number {
  return lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1);
}

/**
 * Fisher's exact test, two-sided, for the 2×2 table [[a, b], [c, d]]: the sum of the
 * hypergeometric probabilities of all tables with the observed margins that are no more likely
 * than the observed one. Probabilities are compared with a relative tolerance of 1e-7, as R's
 * `fisher.test` and `scipy.stats.fisher_exact` do, so that tables equally likely in exact
 * arithmetic are not dropped by rounding. Everything is computed in log space so that margins in
 * the thousands neither overflow nor underflow.
 */
export function fisherExact(a: number, b: number, c: number, d: number): number {
  for (const [name, v] of [['a', a], ['b', b], ['c', c], ['d', d]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`fisherExact: ${name} must be a non-negative integer, got ${v}`);
  }
  const row1 = a + b;
  const row2 = c + d;
  const col1 = a + c;
  const n = row1 + row2;
  if (row1 === 0 || row2 === 0 || col1 === 0 || col1 === n) return 1; // only one possible table
  const logDenom = logChoose(n, col1);
  const logP = (x: number): number => logChoose(row1, x) + logChoose(row2, col1 - x) - logDenom;
  const observed = logP(a);
  const cutoff = observed + Math.log1p(1e-7);
  let p = 0;
  for (let x = Math.max(0, col1 - row2); x <= Math.min(row1, col1); x++) {
    const lp = logP(x);
    // Terms far below the observed one underflow to 0, which is harmless: the largest term of a
    // hypergeometric is at least 1/(support size), so the sum never vanishes.
    if (lp <= cutoff) p += Math.exp(lp);
  }
  return Math.min(1, p);
}
