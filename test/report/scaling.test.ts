import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fitPowerLaw, scalingSetting, type ScalingPoint } from '../../src/report';
import { createRng } from '../../src/util/rng';
import { converge, sandbox, writeSpec } from '../reliability/harness';

const Z = 1.959963984540054;

/** Weighted least squares by the 2×2 normal equations (X'WX) β = X'Wy, solved by Cramer's rule. */
function normalEquations(points: readonly ScalingPoint[]): { alpha: number; se: number; rss: number } {
  let a = 0, b = 0, c = 0, d = 0, e = 0;
  const rows = points.map((p) => {
    const s = (Math.log(p.ciHigh) - Math.log(p.ciLow)) / (2 * Z);
    return { x: Math.log(p.x), y: Math.log(p.estimate), w: 1 / (s * s) };
  });
  for (const r of rows) {
    a += r.w; b += r.w * r.x; c += r.w * r.x * r.x; d += r.w * r.y; e += r.w * r.x * r.y;
  }
  const det = a * c - b * b;
  const intercept = (c * d - b * e) / det;
  const alpha = (a * e - b * d) / det;
  // Var(β) = (X'WX)⁻¹: the slope's entry is a / det.
  const rss = rows.reduce((s, r) => s + r.w * (r.y - intercept - alpha * r.x) ** 2, 0);
  return { alpha, se: Math.sqrt(a / det), rss };
}

test('the power law fit equals the normal equations solved by hand, and its lack-of-fit p-value is exp(−RSS/2) with two degrees of freedom', () => {
  const points: ScalingPoint[] = [
    { x: 25, estimate: 4.1, ciLow: 2.9, ciHigh: 6.3 },
    { x: 50, estimate: 6.8, ciLow: 4.4, ciHigh: 9.9 },
    { x: 100, estimate: 17.5, ciLow: 11.0, ciHigh: 31.0 },
    { x: 200, estimate: 41.0, ciLow: 30.0, ciHigh: 60.0 },
  ];
  const fit = fitPowerLaw(points)!;
  const ref = normalEquations(points);
  assert.ok(Math.abs(fit.alpha - ref.alpha) < 1e-12, `${fit.alpha} vs ${ref.alpha}`);
  assert.ok(Math.abs(fit.alphaLow - (ref.alpha - Z * ref.se)) < 1e-12);
  assert.ok(Math.abs(fit.alphaHigh - (ref.alpha + Z * ref.se)) < 1e-12);
  assert.equal(fit.points, 4);
  // χ² with 2 degrees of freedom: P(X ≥ x) = exp(−x/2) exactly.
  assert.ok(Math.abs(fit.lackOfFitP! - Math.exp(-ref.rss / 2)) < 1e-9, `${fit.lackOfFitP} vs ${Math.exp(-ref.rss / 2)}`);
});

test('points without a two-sided interval are left out; fewer than two points give no fit', () => {
  assert.equal(fitPowerLaw([{ x: 25, estimate: 4, ciLow: 3, ciHigh: 6 }]), null);
  const fit = fitPowerLaw([
    { x: 25, estimate: 4, ciLow: 3, ciHigh: 6 },
    { x: 50, estimate: 8, ciLow: 6, ciHigh: 12 },
    { x: 100, estimate: 16, ciLow: 0, ciHigh: 30 },
  ])!;
  assert.equal(fit.points, 2);
  assert.ok(Math.abs(fit.alpha - 1) < 1e-12);
  assert.equal(fit.lackOfFitP, null);
});

test('the 95 % interval of α covers the true exponent in 93–97 % of 4000 simulated sets of boundaries (each estimate log-normal with its interval’s spread)', () => {
  const rng = createRng(20261202);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
  const xs = [25, 50, 100, 200, 400];
  const sds = [0.45, 0.35, 0.3, 0.35, 0.5];
  const alpha = 1.6;
  let covered = 0;
  let flagged = 0;
  const sims = 4000;
  for (let i = 0; i < sims; i++) {
    const points = xs.map((x, j) => {
      const est = Math.exp(Math.log(0.05) + alpha * Math.log(x) + sds[j]! * normal());
      return { x, estimate: est, ciLow: est * Math.exp(-Z * sds[j]!), ciHigh: est * Math.exp(Z * sds[j]!) };
    });
    const fit = fitPowerLaw(points)!;
    if (fit.alphaLow <= alpha && alpha <= fit.alphaHigh) covered++;
    if (fit.lackOfFitP! < 0.05) flagged++;
  }
  console.log(`power-law fit: α interval coverage ${((covered / sims) * 100).toFixed(1)} %, lack of fit flagged in ${((flagged / sims) * 100).toFixed(1)} % of true power laws`);
  assert.ok(covered / sims >= 0.93 && covered / sims <= 0.97, `coverage ${covered / sims}`);
  assert.ok(flagged / sims <= 0.065, `false lack-of-fit rate ${flagged / sims}`);
});

test('the scaling setting is the one numeric setting the boundaries differ in, else none', () => {
  const b = (fixed: Record<string, unknown>) => ({ label: '', lo: 2, hi: 10, target: 0.5, bracketed: true, verdict: 'crosses', estimate: 4, ciLow: 3, ciHigh: 5, slope: 1, runs: 10, probes: [], fixed });
  assert.equal(scalingSetting([b({ seq_len: 25, batch_size: 1 }), b({ seq_len: 50, batch_size: 1 })]), 'seq_len');
  assert.equal(scalingSetting([b({ seq_len: 25, batch_size: 1 }), b({ seq_len: 50, batch_size: 2 })]), undefined);
  assert.equal(scalingSetting([b({ kernel_initializer: 'orthogonal' }), b({ kernel_initializer: 'glorot_uniform' })]), undefined);
  assert.equal(scalingSetting([b({ seq_len: 25 })]), undefined);
});

test('the HTML report of a search with budgets over two lengths draws the boundary against the length per budget, with a fit line per budget', { timeout: 180_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(
    dir,
    's.yaml',
    [
      'name: scaling',
      'seed: 1',
      'repeats: 4',
      'data: {test_fraction: 0}',
      'train: {epochs: 12}',
      'search:',
      '  axis: n_samples',
      '  for: {seq_len: [9, 12]}',
      '  range: [2, seq_len+1]',
      '  among: all',
      '  budget: 24',
      '  budgets: [6, 12]',
      '',
    ].join('\n'),
  );
  const s = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '1', '--quiet']);
  assert.equal(s.code, 0, s.stderr);
  const r = await converge(t, dir, ['report', 's.db', '--format', 'html', '--out', 'r.html']);
  assert.equal(r.code, 0, r.stderr);
  const html = readFileSync(join(dir, 'r.html'), 'utf8');
  assert.match(html, /<figure id="scaling"><svg/);
  assert.match(html, /How the boundary scales with seq_len, per epoch budget/);
  for (const e of [6, 12]) assert.match(html, new RegExp(`<li>${e} epochs: `));
});
