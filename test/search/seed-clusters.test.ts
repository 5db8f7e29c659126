import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitSearch, penalizedLoglik, seedClusterCut, seedVariance, tallyProbes, type SearchSettings, type SeededRun } from '../../src/search';
import { drawRun } from './synthetic';

// Runs sharing seeds across values, as a search before fresh seeds (or a plain grid) has them:
// [value, converged, seed]. The same data as test/search/seed-clusters-golden.py.
const RUNS: Array<[number, 0 | 1, number]> = [
  [10, 0, 0], [20, 0, 0], [40, 1, 0], [80, 1, 0], [160, 1, 0],
  [10, 0, 1], [20, 1, 1], [40, 1, 1], [80, 1, 1],
  [10, 0, 2], [20, 0, 2], [40, 0, 2], [80, 0, 2], [160, 1, 2],
  [20, 0, 3], [40, 1, 3], [80, 1, 3], [160, 1, 3],
  [10, 1, 4], [40, 1, 4], [160, 1, 4],
  [20, 0, 5], [40, 0, 5], [80, 1, 5],
];
const seeded: SeededRun[] = RUNS.map(([v, c, s]) => ({ x: Math.log(v), converged: c === 1, seed: s }));

// Golden values printed by `python3 test/search/seed-clusters-golden.py` (numpy 2, scipy 1.17.1)
// at θ = log 35, b = 1.7, target 0.5: the ceiling fixed at 1, and free at 0.9.
const EST = { theta: Math.log(35), b: 1.7, top: 1 };
const GOLDEN = { model: 0.08880706831813417, robust: 0.2362122151877419, seeds: 6, cut: 20.50373599960215 };
const EST_TOP = { theta: Math.log(35), b: 1.7, top: 0.9 };
const GOLDEN_TOP = { model: 0.16976279856686216, robust: 0.3588761068358428, seeds: 6, cut: 21.410370797349987 };

/**
 * The same sandwich written the plain way, independently of src/: uncentred (a, b), explicit
 * matrices, Gauss–Jordan inverses, the delta method for θ = (l0 − a)/b.
 */
function inverse(m: number[][]): number[][] {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let piv = c;
    for (let i = c + 1; i < n; i++) if (Math.abs(a[i]![c]!) > Math.abs(a[piv]![c]!)) piv = i;
    [a[c], a[piv]] = [a[piv]!, a[c]!];
    const d = a[c]![c]!;
    for (let j = 0; j < 2 * n; j++) a[c]![j]! /= d;
    for (let i = 0; i < n; i++) {
      if (i === c) continue;
      const f = a[i]![c]!;
      for (let j = 0; j < 2 * n; j++) a[i]![j]! -= f * a[c]![j]!;
    }
  }
  return a.map((row) => row.slice(n));
}
const mul = (x: number[][], y: number[][]) => x.map((row) => y[0]!.map((_, j) => row.reduce((s, v, k) => s + v * y[k]![j]!, 0)));
const tr = (x: number[][]) => x[0]!.map((_, j) => x.map((row) => row[j]!));

function plainSandwich(runs: readonly SeededRun[], l0: number, theta: number, b: number): { model: number; robust: number } {
  const a = l0 - b * theta;
  const X = runs.map((r) => [1, r.x]);
  const p = runs.map((r) => 1 / (1 + Math.exp(-(a + b * r.x))));
  const W = p.map((q) => q * (1 - q));
  const A = mul(tr(X), X.map((row, i) => row.map((v) => v * W[i]!)));
  const Ainv = inverse(A);
  let M = [[0, 0], [0, 0]];
  for (const s of new Set(runs.map((r) => r.seed))) {
    const idx = runs.map((r, i) => (r.seed === s ? i : -1)).filter((i) => i >= 0);
    const Xg = idx.map((i) => X[i]!);
    const H = mul(mul(Xg, Ainv), tr(Xg)).map((row, i) => row.map((v) => v * W[idx[i]!]!)); // D A⁻¹ D' V⁻¹ with D = V X
    const IminusH = H.map((row, i) => row.map((v, j) => (i === j ? 1 : 0) - v));
    const r = idx.map((i) => [(runs[i]!.converged ? 1 : 0) - p[i]!]);
    const u = mul(tr(Xg), mul(inverse(IminusH), r));
    M = M.map((row, i) => row.map((v, j) => v + u[i]![0]! * u[j]![0]!));
  }
  const V = mul(mul(Ainv, M), Ainv);
  const g = [[-1 / b], [-(l0 - a) / (b * b)]];
  const q = (S: number[][]) => mul(mul(tr(g), S), g)[0]![0]!;
  return { model: q(Ainv), robust: q(V) };
}

const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.abs(b);

test('the seed-cluster variance of the boundary matches numpy golden values and a plain matrix implementation', () => {
  for (const [est, free, gold] of [[EST, false, GOLDEN], [EST_TOP, true, GOLDEN_TOP]] as const) {
    const v = seedVariance(seeded, 0.5, est, free)!;
    assert.equal(v.seeds, gold.seeds);
    assert.ok(close(v.model, gold.model, 1e-10), `model ${v.model} vs ${gold.model}`);
    assert.ok(close(v.robust, gold.robust, 1e-10), `robust ${v.robust} vs ${gold.robust}`);
  }
  for (const [theta, b, target] of [[Math.log(35), 1.7, 0.5], [Math.log(50), 0.8, 0.5], [Math.log(25), 3, 0.8]] as const) {
    const l0 = Math.log(target / (1 - target));
    const mine = seedVariance(seeded, target, { theta, b, top: 1 })!;
    const plain = plainSandwich(seeded, l0, theta, b);
    assert.ok(close(mine.model, plain.model, 1e-10) && close(mine.robust, plain.robust, 1e-10), `at θ=${theta}, b=${b}: ${JSON.stringify(mine)} vs ${JSON.stringify(plain)}`);
  }
  // Every run its own seed (a search with fresh seeds): the one-run path, against the same plain code.
  const singles = seeded.map((r, i) => ({ ...r, seed: i }));
  const mine = seedVariance(singles, 0.5, EST)!;
  const plain = plainSandwich(singles, 0, EST.theta, EST.b);
  assert.equal(mine.seeds, singles.length);
  assert.ok(close(mine.model, plain.model, 1e-10) && close(mine.robust, plain.robust, 1e-10), `one run per seed: ${JSON.stringify(mine)} vs ${JSON.stringify(plain)}`);
});

test("the deviance cut is the sandwich's design effect times Student's t² with seeds − 2 degrees of freedom (golden)", () => {
  const cut = seedClusterCut(seeded, 0.5)(EST);
  assert.ok(close(cut, GOLDEN.cut, 1e-10), `${cut} vs ${GOLDEN.cut}`);
  const cutTop = seedClusterCut(seeded, 0.5, true)(EST_TOP);
  assert.ok(close(cutTop, GOLDEN_TOP.cut, 1e-10), `${cutTop} vs ${GOLDEN_TOP.cut} (a free ceiling: t with seeds − 3 degrees of freedom)`);
});

test('with fewer than three seeds there is no bounded interval: the cut is infinite', () => {
  const two = seeded.filter((r) => r.seed < 2);
  assert.equal(seedClusterCut(two, 0.5)(EST), Infinity);
});

test('a search fitted on runs that share seeds bounds its interval where the brute-force profile deviance equals that cut', () => {
  // The two-parameter model, whose profile the brute force below scans.
  const s: SearchSettings = { lo: 10, hi: 160, target: 0.5, among: 'alive', precision: 0.25, budget: 400, batch: 4, model: 'logistic' };
  // A plain grid of 20 seeds at 5 values in the world where each seed has its own threshold.
  const truth = { n50: 40, slope: 2, deadFraction: 0.5, shared: 1 };
  const obs = [10, 20, 40, 80, 160].flatMap((v) => Array.from({ length: 20 }, (_, r) => drawRun(truth, 5, v, r)));
  const counted = obs.filter((o) => o.alive);
  const seeds = new Set(counted.map((o) => o.repeat)).size;
  assert.equal(seeds, 12, 'the test world changed: update the t quantile below');
  const fit = fitSearch(s, obs)!;
  const plain = plainSandwich(counted.map((o) => ({ x: Math.log(o.value), converged: o.outcome === 'converged', seed: o.repeat })), 0, fit.theta, fit.b);
  const t10 = 2.228138851986274; // scipy: stats.t.ppf(0.975, 10)
  const cut = Math.max(1, plain.robust / plain.model) * t10 * t10;
  assert.ok(plain.robust / plain.model > 2, `design effect ${plain.robust / plain.model}: runs of one seed are alike here`);
  assert.ok(close(fit.cut, cut, 1e-9), `cut ${fit.cut} vs ${cut}`);
  // Brute-force profile over the slope, as in logistic.test.ts, at each end of the interval.
  const groups = tallyProbes(obs, 'alive').map((p) => ({ x: Math.log(p.value), k: p.k, n: p.n }));
  const profile = (theta: number) => {
    let best = -Infinity;
    let bestB = 0;
    for (let b = -20; b <= 20; b += 0.01) {
      const f = penalizedLoglik(groups, 0, theta, b);
      if (f > best) [best, bestB] = [f, b];
    }
    for (let b = bestB - 0.01; b <= bestB + 0.01; b += 1e-5) best = Math.max(best, penalizedLoglik(groups, 0, theta, b));
    return best;
  };
  for (const end of [fit.ciLow, fit.ciHigh]) {
    if (end === null) continue;
    const dev = 2 * (fit.max - profile(end));
    assert.ok(Math.abs(dev - cut) < 1e-3 * cut, `deviance at ${Math.exp(end)}: ${dev} vs cut ${cut}`);
  }
  assert.ok(fit.ciLow !== null && fit.ciHigh !== null, 'both ends are bounded');
  // Taking the runs as independent gives the χ²₁ cut: the seed-cluster interval is wider.
  const naive = fitSearch({ ...s, interval: 'run' }, obs)!;
  assert.ok(naive.cut < fit.cut);
  // The ceiling model (the default) takes its cut from the same sandwich with the ceiling free.
  const ceiling = fitSearch({ ...s, model: 'ceiling' }, obs)!;
  const runs = counted.map((o) => ({ x: Math.log(o.value), converged: o.outcome === 'converged', seed: o.repeat }));
  assert.equal(ceiling.cut, seedClusterCut(runs, 0.5, true)(ceiling));
});
