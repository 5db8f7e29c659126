import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHI2_1_95, fitBoundary, fitToppedBoundary, penalizedLoglik, toppedLoglik, type Probe } from '../../src/search';

// Independent checks of the ceiling model: brute-force scans of the same penalized likelihood on
// grids of (b, top), instead of the projected Newton steps and warm starts of the code.
const opts = { target: 0.5, thetaMin: Math.log(2), thetaMax: Math.log(2000) };
// A steep rise to a plateau near 0.8: the two-parameter logistic must stretch its slope to reach
// 1 and misplaces the crossing; the ceiling model should not.
const plateau: Probe[] = [
  { value: 20, k: 0, n: 20 },
  { value: 30, k: 2, n: 20 },
  { value: 40, k: 8, n: 20 },
  { value: 50, k: 13, n: 20 },
  { value: 70, k: 16, n: 20 },
  { value: 100, k: 16, n: 20 },
  { value: 200, k: 17, n: 20 },
];
const groups = plateau.map((p) => ({ x: Math.log(p.value), k: p.k, n: p.n }));

/** max over (b, top) at θ: a coarse grid, then two finer ones around its best point. */
function bruteProfile(theta: number): number {
  let best = -Infinity;
  let bb = 0;
  let bt = 1;
  const scan = (b0: number, b1: number, db: number, t0: number, t1: number, dt: number) => {
    for (let b = b0; b <= b1 + 1e-12; b += db) {
      for (let top = Math.max(0.51, t0); top <= Math.min(1, t1) + 1e-12; top += dt) {
        const f = toppedLoglik(groups, 0.5, theta, b, Math.min(top, 1));
        if (f > best) [best, bb, bt] = [f, b, Math.min(top, 1)];
      }
    }
  };
  scan(0.5, 20, 0.1, 0.51, 1, 0.01);
  scan(bb - 0.1, bb + 0.1, 0.002, bt - 0.01, bt + 0.01, 0.0005);
  scan(bb - 0.002, bb + 0.002, 0.00005, bt - 0.0005, bt + 0.0005, 0.00002);
  return best;
}

test('at a ceiling of 1 the ceiling model is the two-parameter model: same penalized likelihood', () => {
  for (const [theta, b] of [[Math.log(40), 3], [Math.log(60), 1.2], [Math.log(25), -2]] as const) {
    const a = toppedLoglik(groups, 0.5, theta, b, 1);
    const c = penalizedLoglik(groups, 0, theta, b);
    assert.ok(Math.abs(a - c) < 1e-9 * Math.abs(c), `${a} vs ${c}`);
  }
});

test('the ceiling estimate maximises the penalized likelihood found by a brute-force scan, and sits near the plateau', () => {
  const fit = fitToppedBoundary(plateau, opts)!;
  let best = -Infinity;
  let bestTheta = 0;
  for (let t = Math.log(36); t <= Math.log(50); t += 0.005) {
    const f = bruteProfile(t);
    if (f > best) [best, bestTheta] = [f, t];
  }
  assert.ok(Math.abs(fit.theta - bestTheta) < 0.01, `θ̂ ${Math.exp(fit.theta)} vs brute force ${Math.exp(bestTheta)}`);
  assert.ok(fit.max >= best - 1e-7, `max ${fit.max} below the brute-force ${best}`);
  assert.ok(fit.top > 0.75 && fit.top < 0.9, `ceiling ${fit.top}`);
});

test('the ceiling interval ends are where the brute-force profile deviance equals the chi-square 95 % quantile', () => {
  const fit = fitToppedBoundary(plateau, opts)!;
  assert.ok(fit.ciLow !== null && fit.ciHigh !== null && fit.ciLow < fit.theta && fit.theta < fit.ciHigh);
  for (const end of [fit.ciLow, fit.ciHigh]) {
    const dev = 2 * (fit.max - bruteProfile(end));
    assert.ok(Math.abs(dev - CHI2_1_95) < 0.01, `deviance at ${Math.exp(end)}: ${dev}`);
  }
});

test('on a rate that tops out near 0.8 the two-parameter fit moves the crossing up, the ceiling fit does not', () => {
  // Where the observed rate crosses 0.5: between 40 (8/20) and 50 (13/20).
  const two = fitBoundary(plateau, opts)!;
  const ceiling = fitToppedBoundary(plateau, opts)!;
  assert.ok(Math.exp(ceiling.theta) > 40 && Math.exp(ceiling.theta) < 50, `ceiling model: ${Math.exp(ceiling.theta)}`);
  assert.ok(Math.exp(two.theta) > Math.exp(ceiling.theta), `two-parameter ${Math.exp(two.theta)} vs ceiling ${Math.exp(ceiling.theta)}`);
  assert.ok(two.b < ceiling.b, 'the two-parameter slope is flatter');
});

test('completely separated probes give the ceiling model a finite estimate inside the gap', () => {
  const sep: Probe[] = [
    { value: 20, k: 0, n: 4 },
    { value: 40, k: 0, n: 4 },
    { value: 80, k: 4, n: 4 },
    { value: 160, k: 4, n: 4 },
  ];
  const fit = fitToppedBoundary(sep, opts)!;
  assert.ok(Math.exp(fit.theta) > 40 && Math.exp(fit.theta) < 80, `estimate ${Math.exp(fit.theta)}`);
  assert.ok(Number.isFinite(fit.b) && fit.b > 0);
});

test('the ceiling estimate is a stationary point of the penalized likelihood (finite differences in θ, b and top)', () => {
  const fit = fitToppedBoundary(plateau, opts)!;
  assert.ok(fit.top < 1, 'an interior ceiling');
  const h = 1e-5;
  const f = (t: number, b: number, top: number) => toppedLoglik(groups, 0.5, t, b, top);
  const dT = (f(fit.theta + h, fit.b, fit.top) - f(fit.theta - h, fit.b, fit.top)) / (2 * h);
  const dB = (f(fit.theta, fit.b + h, fit.top) - f(fit.theta, fit.b - h, fit.top)) / (2 * h);
  const dTop = (f(fit.theta, fit.b, fit.top + h) - f(fit.theta, fit.b, fit.top - h)) / (2 * h);
  // θ̂ settles when the profile's predicted gain is below 1e-9: |∂/∂θ| up to ~1e-3, a deviance error below 1e-8.
  assert.ok(Math.abs(dT) < 1e-3 && Math.abs(dB) < 1e-5 && Math.abs(dTop) < 1e-5, `gradient (${dT}, ${dB}, ${dTop})`);
});
