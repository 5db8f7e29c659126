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
  return wilsonOf(k / n, n, z);
}

/** The Wilson limits of a rate p observed on n trials; n may be an effective (non-integer) size. */
function wilsonOf(p: number, n: number, z: number): Interval {
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At k = 0 and k = n the bounds are exactly 0 and 1 in exact arithmetic; pin them so that
  // rounding does not print 1.0000000000000002 or -1e-17.
  return {
    lo: p === 0 ? 0 : Math.max(0, center - half),
    hi: p === 1 ? 1 : Math.min(1, center + half),
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

/** log C(n, k), through lgamma (for counts in the thousands). */
export function logChoose(n: number, k: number): number {
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

/**
 * Two-sided exact binomial test of H0: P(success) = 1/2, for x successes in m trials: the sum of
 * the probabilities of all outcomes no more likely than the observed one, which for p = 1/2 is
 * min(1, 2·P(X ≤ min(x, m − x))). This is the exact McNemar test when x and m − x are the two
 * discordant counts.
 */
export function binomialTestHalf(x: number, m: number): number {
  if (!Number.isInteger(x) || !Number.isInteger(m) || x < 0 || m < 0 || x > m) {
    throw new RangeError(`binomialTestHalf: expected integers 0 <= x <= m, got x=${x}, m=${m}`);
  }
  if (m === 0) return 1;
  const lo = Math.min(x, m - x);
  // Both tails together; at lo = m/2 the two tails overlap in the middle term, and the sum is
  // above 1, which min() takes care of.
  let tail = 0;
  for (let i = 0; i <= lo; i++) tail += Math.exp(logChoose(m, i) - m * Math.LN2);
  return Math.min(1, 2 * tail);
}

/** The exact McNemar test on the discordant pairs: b pairs favour one side, c the other. */
export function mcnemarExact(b: number, c: number): number {
  return binomialTestHalf(b, b + c);
}

export interface DifferenceInterval { difference: number; lo: number; hi: number }

// Newcombe's "square and add": the limits of a difference come from the Wilson limits of the two
// rates, combined with the correlation φ between them (φ = 0 for independent groups).
function squareAndAdd(p1: number, w1: Interval, p2: number, w2: Interval, phi: number): DifferenceInterval {
  const d = p1 - p2;
  const dl1 = p1 - w1.lo;
  const du1 = w1.hi - p1;
  const dl2 = p2 - w2.lo;
  const du2 = w2.hi - p2;
  const lo = d - Math.sqrt(Math.max(0, dl1 * dl1 - 2 * phi * dl1 * du2 + du2 * du2));
  const hi = d + Math.sqrt(Math.max(0, du1 * du1 - 2 * phi * du1 * dl2 + dl2 * dl2));
  return { difference: d, lo: Math.max(-1, lo), hi: Math.min(1, hi) };
}

/**
 * 95% interval for the difference of two independent rates k1/n1 − k2/n2: Newcombe's hybrid
 * score interval (method 10 of Newcombe 1998, Stat Med 17:873), which inherits the Wilson
 * interval's good coverage at small n and at 0/n.
 */
export function newcombeIndependent(k1: number, n1: number, k2: number, n2: number, z = 1.959964): DifferenceInterval {
  if (n1 === 0 || n2 === 0) throw new RangeError('newcombeIndependent: both groups need n > 0');
  return squareAndAdd(k1 / n1, wilson(k1, n1, z), k2 / n2, wilson(k2, n2, z), 0);
}

/**
 * 95% interval for the difference of two rates measured on the same pairs: Newcombe's method 10
 * for paired data (Newcombe 1998, Stat Med 17:2635; the method of Altman et al., "Statistics with
 * Confidence", 2nd ed., ch. 6). Chosen over the Wald interval, which leaves [−1, 1] and collapses
 * to a point when there are no discordant pairs, both common at 10–30 seeds; and over the exact
 * conditional interval, which Newcombe shows to be effectively one-sided.
 *
 * The pairs as a 2×2 table: `both` pairs succeed on both sides, `only1` only on side 1, `only2`
 * only on side 2, `neither` on neither. The difference is rate1 − rate2 = (only1 − only2)/n.
 * φ, the correlation of the two sides, enters with Newcombe's continuity correction: its
 * numerator ad − bc is reduced by n/2 when positive and set to 0 when it lies in [0, n/2].
 *
 * `designEffect` > 1, for pairs that are not independent (several pairs per seed,
 * src/report/seed-unit.ts): every count is divided by it before the interval is computed, which
 * gives the interval the effective sample size of the clustered pairs (Rao & Scott 1992).
 * @param designEffect @default 1 (independent pairs)
 */
export function newcombePaired(both: number, only1: number, only2: number, neither: number, z = 1.959964, designEffect = 1): DifferenceInterval {
  for (const v of [both, only1, only2, neither]) {
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`newcombePaired: counts must be non-negative integers, got ${v}`);
  }
  if (!(designEffect >= 1)) throw new RangeError(`newcombePaired: designEffect must be at least 1, got ${designEffect}`);
  if (both + only1 + only2 + neither === 0) throw new RangeError('newcombePaired: no pairs');
  const [a, b, c, d] = [both, only1, only2, neither].map((v) => v / designEffect) as [number, number, number, number];
  const n = a + b + c + d;
  const k1 = a + b;
  const k2 = a + c;
  const margins = k1 * (n - k1) * k2 * (n - k2);
  let phi = 0;
  if (margins > 0) {
    const cross = a * d - b * c;
    const corrected = cross > n / 2 ? cross - n / 2 : cross >= 0 ? 0 : cross;
    phi = corrected / Math.sqrt(margins);
  }
  return squareAndAdd(k1 / n, wilsonOf(k1 / n, n, z), k2 / n, wilsonOf(k2 / n, n, z), phi);
}
