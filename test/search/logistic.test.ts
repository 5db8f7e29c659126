import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHI2_1_95, fitBoundary, logit, penalizedLoglik, type Probe } from '../../src/search';

// Independent checks of the boundary fit: brute-force maximisation of the same likelihood on
// fine grids, and finite differences, instead of the Newton iterations and warm starts of the code.
const probes: Probe[] = [
  { value: 20, k: 0, n: 6 },
  { value: 40, k: 1, n: 7 },
  { value: 60, k: 3, n: 8 },
  { value: 90, k: 5, n: 7 },
  { value: 150, k: 6, n: 6 },
];
const groups = probes.map((p) => ({ x: Math.log(p.value), k: p.k, n: p.n }));
const opts = { target: 0.5, thetaMin: Math.log(2), thetaMax: Math.log(2000) };

/** max over b of the (penalized) log-likelihood at θ by a dense scan refined twice. */
function bruteProfile(theta: number, penalized: boolean, l0 = 0): number {
  let best = -Infinity;
  let bestB = 0;
  for (let b = -20; b <= 20; b += 0.01) {
    const f = penalizedLoglik(groups, l0, theta, b, penalized);
    if (f > best) [best, bestB] = [f, b];
  }
  for (const h of [1e-4, 1e-6]) {
    const c = bestB;
    for (let b = c - 100 * h; b <= c + 100 * h; b += h) {
      const f = penalizedLoglik(groups, l0, theta, b, penalized);
      if (f > best) [best, bestB] = [f, b];
    }
  }
  return best;
}

test('the penalized estimate of the boundary is the maximum found by a brute-force scan of θ', () => {
  const fit = fitBoundary(probes, opts)!;
  let best = -Infinity;
  let bestTheta = 0;
  for (let t = Math.log(30); t <= Math.log(120); t += 0.002) {
    const f = bruteProfile(t, true);
    if (f > best) [best, bestTheta] = [f, t];
  }
  assert.ok(Math.abs(fit.theta - bestTheta) < 0.004, `θ̂ ${fit.theta} vs brute force ${bestTheta}`);
  // The scan's step leaves it a little below the true maximum; the fit must never be below the scan.
  assert.ok(fit.max >= best - 1e-9 && fit.max - best < 1e-4, `max ${fit.max} vs brute force ${best}`);
});

test('the estimate is a stationary point of the penalized likelihood (finite differences in θ and b)', () => {
  const fit = fitBoundary(probes, opts)!;
  const h = 1e-5;
  const f = (t: number, b: number) => penalizedLoglik(groups, 0, t, b, true);
  const dT = (f(fit.theta + h, fit.b) - f(fit.theta - h, fit.b)) / (2 * h);
  const dB = (f(fit.theta, fit.b + h) - f(fit.theta, fit.b - h)) / (2 * h);
  assert.ok(Math.abs(dT) < 1e-5 && Math.abs(dB) < 1e-5, `gradient (${dT}, ${dB})`);
});

test('the interval ends are where the brute-force profile deviance equals the chi-square 95 % quantile', () => {
  const fit = fitBoundary(probes, opts)!;
  assert.ok(fit.ciLow !== null && fit.ciHigh !== null && fit.ciLow < fit.theta && fit.theta < fit.ciHigh);
  for (const end of [fit.ciLow, fit.ciHigh]) {
    const dev = 2 * (fit.max - bruteProfile(end, true));
    assert.ok(Math.abs(dev - CHI2_1_95) < 1e-3, `deviance at ${end}: ${dev}`);
  }
});

test('for a target other than 0.5 the boundary moves by logit(target)/slope, as the model says', () => {
  const half = fitBoundary(probes, opts)!;
  const t8 = fitBoundary(probes, { ...opts, target: 0.8 })!;
  // The same curve a + b x: θ(0.8) = θ(0.5) + logit(0.8)/b. The penalty does not depend on the
  // parametrisation's target, so both fits describe one curve.
  assert.ok(Math.abs(t8.theta - (half.theta + logit(0.8) / half.b)) < 1e-4, `${t8.theta} vs ${half.theta + logit(0.8) / half.b}`);
});

test('completely separated probes still give a finite estimate inside the gap and a bounded interval', () => {
  const sep: Probe[] = [
    { value: 20, k: 0, n: 4 },
    { value: 40, k: 0, n: 4 },
    { value: 80, k: 4, n: 4 },
    { value: 160, k: 4, n: 4 },
  ];
  const fit = fitBoundary(sep, opts)!;
  assert.ok(Math.exp(fit.theta) > 40 && Math.exp(fit.theta) < 80, `estimate ${Math.exp(fit.theta)}`);
  assert.ok(Number.isFinite(fit.b) && fit.b > 0);
  assert.ok(fit.ciLow !== null && fit.ciHigh !== null && fit.ciLow < fit.theta && fit.theta < fit.ciHigh);
});

test('probes at a single value cannot identify a slope: no fit', () => {
  assert.equal(fitBoundary([{ value: 50, k: 2, n: 4 }], opts), undefined);
});
