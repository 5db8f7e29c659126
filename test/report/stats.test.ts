import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fisherExact, lgamma, quantiles, wilson } from '../../src/report';

// Reference values: scipy 1.17.1 (`scipy.stats.fisher_exact`, `binomtest(k, n).proportion_ci(method='wilson')`),
// numpy `quantile` (method 'linear'), and the hypergeometric formula worked out below.
const close = (actual: number | null, expected: number, tol: number, what: string): void => {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `${what}: expected ${expected} ± ${tol}, got ${actual}`);
};

test('the Wilson interval for 0/10, 5/10 and 10/10 matches the published values', () => {
  const w0 = wilson(0, 10);
  assert.equal(w0.lo, 0);
  close(w0.hi, 0.27753279986288926, 1e-6, '0/10 hi');
  const w5 = wilson(5, 10);
  close(w5.lo, 0.236593090512564, 1e-6, '5/10 lo');
  close(w5.hi, 0.7634069094874361, 1e-6, '5/10 hi');
  const w10 = wilson(10, 10);
  close(w10.lo, 0.7224672001371109, 1e-6, '10/10 lo');
  assert.equal(w10.hi, 1);
});

test('the Wilson interval of an empty cell is the whole of [0, 1]', () => {
  assert.deepEqual(wilson(0, 0), { lo: 0, hi: 1 });
});

test('the Wilson interval refuses k greater than n', () => {
  assert.throws(() => wilson(11, 10), RangeError);
});

test('quantiles interpolate linearly between order statistics as numpy does', () => {
  assert.deepEqual(quantiles([1, 2, 3, 4]), { q1: 1.75, median: 2.5, q3: 3.25 });
  assert.deepEqual(quantiles([3, 1, 10, 7, 2]), { q1: 2, median: 3, q3: 7 });
  assert.deepEqual(quantiles([5]), { q1: 5, median: 5, q3: 5 });
});

test('quantiles of nothing are null and non-finite values are ignored', () => {
  assert.deepEqual(quantiles([]), { q1: null, median: null, q3: null });
  assert.deepEqual(quantiles([NaN, Infinity]), { q1: null, median: null, q3: null });
  assert.deepEqual(quantiles([1, NaN, 2, 3, 4]), { q1: 1.75, median: 2.5, q3: 3.25 });
});

test('lgamma agrees with log factorials and with Γ(1/2) = √π', () => {
  assert.equal(Math.abs(lgamma(1)) < 1e-14, true);
  close(lgamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-13, 'lgamma(0.5)');
  let logFact100 = 0;
  for (let i = 2; i <= 100; i++) logFact100 += Math.log(i);
  close(lgamma(101), logFact100, 1e-10, 'lgamma(101)');
});

test('Fisher exact for 3/10 vs 9/10 converged equals the hypergeometric sum worked by hand', () => {
  // Table [[3, 7], [9, 1]]: rows of 10, 12 converged in all, 20 runs. With X = converged in row 1,
  // P(X = x) = C(10, x) C(10, 12 − x) / C(20, 12), x = 2..10. The numerators are
  //   x:     2     3     4      5      6      7     8     9    10
  //        45  1200  9450  30240  44100  30240  9450  1200    45   (sum 125970 = C(20, 12))
  // and the tables no more likely than the observed x = 3 are x = 2, 3, 9, 10: 2490 / 125970.
  const choose = (n: number, k: number): number => {
    let r = 1;
    for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
    return Math.round(r);
  };
  const num = (x: number): number => choose(10, x) * choose(10, 12 - x);
  assert.equal([2, 3, 4, 5, 6, 7, 8, 9, 10].reduce((s, x) => s + num(x), 0), choose(20, 12));
  const byHand = (num(2) + num(3) + num(9) + num(10)) / choose(20, 12);
  assert.equal(byHand, 2490 / 125970);
  const p = fisherExact(3, 7, 9, 1);
  close(p, byHand, 1e-12, 'p');
  close(p, 0.019766611097880443, 1e-12, 'p vs scipy'); // about 0.01977
});

test('Fisher exact keeps tables equally likely as the observed one (the 1e-7 tolerance)', () => {
  // 0/4 vs 4/4: the two extreme tables each have probability 1/70.
  close(fisherExact(0, 4, 4, 0), 2 / 70, 1e-12, 'p');
});

test('Fisher exact works in log space for margins in the thousands', () => {
  close(fisherExact(130, 870, 170, 830), 0.014495877733299583, 1e-9, '130/1000 vs 170/1000');
  close(fisherExact(1200, 800, 1150, 850), 0.11552056391009574, 1e-9, '1200/2000 vs 1150/2000');
});

test('Fisher exact is 1 for identical rows and for degenerate margins', () => {
  close(fisherExact(5, 5, 5, 5), 1, 1e-12, 'identical rows');
  assert.equal(fisherExact(1, 0, 0, 0), 1);
  assert.equal(fisherExact(0, 0, 3, 4), 1);
  assert.throws(() => fisherExact(1.5, 0, 0, 0), RangeError);
});
