import { test } from 'node:test';
import assert from 'node:assert/strict';
import { incompleteBeta, studentTCdf, studentTQuantile } from '../../src/stats';

// Reference values: scipy 1.17.1, stats.t.ppf(0.975, df), stats.t.cdf(1.3, df), special.betainc.
const QUANTILE_975: Array<[number, number]> = [
  [1, 12.706204736174694],
  [2, 4.302652729749462],
  [3, 3.1824463052837078],
  [5, 2.5705818356363146],
  [10, 2.228138851986274],
  [30, 2.0422724563012378],
  [2.5, 3.5746548420036817],
];
const CDF_13: Array<[number, number]> = [
  [1, 0.7912855998398473],
  [2, 0.8383764840919798],
  [3, 0.8577662456360515],
  [5, 0.8748496829146615],
  [10, 0.8886170913965777],
  [30, 0.8982495207309416],
  [2.5, 0.8497566053646458],
];

test("Student's t 97.5 % quantiles match scipy's to 1e-10 relative, for integer and fractional degrees of freedom", () => {
  for (const [df, q] of QUANTILE_975) {
    const got = studentTQuantile(0.975, df);
    assert.ok(Math.abs(got - q) <= 1e-10 * q, `df=${df}: ${got} vs ${q}`);
    assert.ok(Math.abs(studentTQuantile(0.025, df) + q) <= 1e-10 * q, `df=${df}: lower quantile is not -${q}`);
  }
});

test("Student's t CDF and the regularized incomplete beta match scipy's to 1e-12", () => {
  for (const [df, p] of CDF_13) {
    assert.ok(Math.abs(studentTCdf(1.3, df) - p) < 1e-12, `df=${df}: ${studentTCdf(1.3, df)} vs ${p}`);
    assert.ok(Math.abs(studentTCdf(-1.3, df) - (1 - p)) < 1e-12);
  }
  assert.ok(Math.abs(incompleteBeta(0.3, 2.5, 0.5) - 0.018927124071945658) < 1e-14);
  assert.ok(Math.abs(incompleteBeta(0.9, 10, 3) - 0.889130022255) < 1e-11);
});

test("Student's t quantile refuses a probability outside (0, 1) or non-positive degrees of freedom", () => {
  assert.throws(() => studentTQuantile(1, 5), RangeError);
  assert.throws(() => studentTQuantile(0.5, 0), RangeError);
});
