import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConvergeError } from '../../src/errors';
import { binomialTestHalf, compareGroups, differingSettings, formatComparison, newcombePaired } from '../../src/report';
import type { RunRow } from '../../src/report';

let nextId = 1;
/** n runs with seeds firstSeed…, of which the seeds in `converged` converged. */
function runs(n: number, converged: (seed: number) => boolean, params: RunRow['params'] = {}, firstSeed = 1): RunRow[] {
  return Array.from({ length: n }, (_, i) => {
    const id = nextId++;
    const seed = firstSeed + i;
    return {
      id, runKey: `k${id}`, seed, params, status: 'done', outcome: converged(seed) ? 'converged' : 'not_converged',
      finalValMae: 0.1, finalLoss: 0.1, convergedEpoch: null, epochsRun: 50, seconds: 1,
    } satisfies RunRow;
  });
}
const firstK = (k: number, first = 1) => (seed: number) => seed < first + k;

test('groups with no seed in common use Fisher: 3/10 against 9/10 gives p ≈ 0.0198', () => {
  const r = compareGroups(
    { label: 'n_samples=80', runs: runs(10, firstK(3), { n_samples: 80 }) },
    { label: 'n_samples=130', runs: runs(10, firstK(9, 101), { n_samples: 130 }, 101) },
    ['n_samples'],
  );
  assert.equal(r.test, 'fisher_exact');
  assert.deepEqual([r.a.k, r.a.n, r.b.k, r.b.n], [3, 10, 9, 10]);
  assert.equal(r.pairs, null);
  assert.ok(Math.abs(r.difference! - 0.6) < 1e-12);
  assert.ok(Math.abs(r.p_value! - 0.0198) < 1e-4, `p = ${r.p_value}`);
  assert.ok(r.difference_ci_low! > 0 && r.difference_ci_high! < 1 && r.difference_ci_low! < 0.6 && r.difference_ci_high! > 0.6);
  assert.equal(r.warning, null);
  const text = formatComparison(r, false);
  assert.match(text, /A {2}n_samples=80: 3\/10 converged, rate 0\.30, 95% CI \[0\.11, 0\.60\]/);
  assert.match(text, /unpaired: the groups share no seed/);
  assert.match(text, /difference \(B − A\): \+0\.60, 95% CI \[\+0\.\d\d, \+0\.\d\d\] \(Newcombe\); Fisher exact two-sided p = 0\.0198/);
  assert.match(text, /p < 0\.05/);
});

test('runs with the same seeds are paired: exact McNemar on the discordant seeds', () => {
  // A converges on seeds 1–3, B on seeds 1–9: 6 seeds favour B, none favour A.
  const r = compareGroups(
    { label: 'batch_size=32', runs: runs(10, firstK(3), { batch_size: 32, n_samples: 80 }) },
    { label: 'batch_size=1', runs: runs(10, firstK(9), { batch_size: 1, n_samples: 80 }) },
    ['batch_size'],
  );
  assert.equal(r.test, 'mcnemar_exact');
  assert.equal(r.pairs, 10);
  assert.equal(r.discordant_ab, 0);
  assert.equal(r.discordant_ba, 6);
  assert.ok(Math.abs(r.p_value! - 2 / 64) < 1e-12, `p = ${r.p_value}`);
  assert.ok(Math.abs(r.difference! - 0.6) < 1e-12);
  const ci = newcombePaired(3, 6, 0, 1);
  assert.equal(r.difference_ci_low, ci.lo);
  assert.equal(r.difference_ci_high, ci.hi);
  assert.deepEqual(r.matched_on, ['seed', 'n_samples']);
  const text = formatComparison(r, false);
  assert.match(text, /paired: 10 pairs of runs with the same seed and the same other settings \(cell by cell\); converged only in A: 0, only in B: 6/);
  assert.match(text, /\(Newcombe, paired\); exact McNemar two-sided p = 0\.0312/);
});

test('pooling two cells per side pairs cell by cell: a seed never counts twice on one side', () => {
  // Two cells per side (n_samples 80 and 130), seeds 1–10 in every cell.
  const conv = (batch: number, n: number) => (seed: number) =>
    batch === 1 ? seed <= (n === 80 ? 5 : 6) : n === 130 && seed <= 4 && seed !== 2;
  const side = (batch: number) => [80, 130].flatMap((n) => runs(10, conv(batch, n), { batch_size: batch, n_samples: n }));
  const r = compareGroups({ label: 'batch_size=32', runs: side(32) }, { label: 'batch_size=1', runs: side(1) }, ['batch_size']);
  assert.equal(r.pairs, 20, 'ten seeds in each of two cells');
  // By hand: at n=80, B alone converges on seeds 1–5 (5); at n=130, B alone on 2, 5, 6 (3); A alone never.
  assert.equal(r.discordant_ba, 8);
  assert.equal(r.discordant_ab, 0);
  assert.deepEqual([r.a.k, r.a.n, r.b.k, r.b.n], [3, 20, 11, 20]);
  // A seed gives a pair in each cell, so the seed is the unit: seeds 1–6 favour B (net +1, +2, +1,
  // +1, +2, +1), and only the all-positive and all-negative sign patterns reach |T| = 8: 2/2^6,
  // not the 2/2^8 of McNemar's test on 8 pairs taken as independent.
  assert.equal(r.test, 'sign_flip_seed');
  assert.deepEqual([r.seeds, r.seeds_discordant], [10, 6]);
  assert.ok(Math.abs(r.p_value! - 2 / 64) < 1e-15, `p = ${r.p_value}`);
  assert.ok(r.p_value! > binomialTestHalf(0, 8));
});

test('a side with two runs of one seed and the same other settings is refused, saying how to narrow it', () => {
  const a = [...runs(5, firstK(2), { n_samples: 80, batch_size: 1 }), ...runs(5, firstK(2), { n_samples: 130, batch_size: 1 })];
  const b = runs(5, firstK(4), { n_samples: 80, batch_size: 32 });
  assert.throws(
    () => compareGroups({ label: 'batch_size=1', runs: a }, { label: 'batch_size=32 and n_samples=80', runs: b }, ['batch_size', 'n_samples']),
    (e: unknown) =>
      e instanceof ConvergeError && e.code === 'compare.ambiguous' && e.exitCode === 2 &&
      /A "batch_size=1" holds two runs with seed 1 .*give A one value of n_samples \(e\.g\. "n_samples=\d+" in --a or --where\)/.test(e.message) &&
      !e.message.includes('\n'),
  );
});

test('seeds that only partly match are refused, with the --where that makes them match', () => {
  const a = runs(10, firstK(3), { batch_size: 1 });
  const b = runs(10, firstK(3), { batch_size: 32 }, 6); // seeds 6–15: 5 shared
  assert.throws(
    () => compareGroups({ label: 'a', runs: a }, { label: 'b', runs: b }, ['batch_size']),
    (e: unknown) => e instanceof ConvergeError && e.code === 'compare.ambiguous' && /only 5 of A's 10 runs have a partner/.test(e.message) && /--where "seed>=6 and seed<=10"/.test(e.message),
  );
});

test('fewer than 6 discordant pairs: the McNemar test cannot reach 0.05 and the warning says so', () => {
  const r = compareGroups({ label: 'a', runs: runs(10, firstK(0), { x: 1 }) }, { label: 'b', runs: runs(10, firstK(5), { x: 2 }) }, ['x']);
  assert.equal(r.test, 'mcnemar_exact');
  assert.ok(Math.abs(r.p_value! - 0.0625) < 1e-12);
  assert.match(r.warning ?? '', /only 5 discordant pairs .* cannot reach p < 0\.05 with fewer than 6/);
});

test('fewer than 5 finished seeds in an unpaired group gives a "too few seeds" warning', () => {
  const r = compareGroups({ label: 'a', runs: runs(3, firstK(0)) }, { label: 'b', runs: runs(3, firstK(3, 11), {}, 11) });
  assert.equal(r.test, 'fisher_exact');
  assert.match(r.warning ?? '', /^too few seeds to tell: "a" has n=3, "b" has n=3/);
  assert.match(formatComparison(r, false), /warning: too few seeds/);
});

test('a pair counts once both its runs have finished; unfinished runs are named in the warning', () => {
  const a = runs(10, firstK(2), { x: 1 });
  const b = runs(10, firstK(8), { x: 2 }).map((r) => (r.seed > 8 ? { ...r, status: 'pending' as const, outcome: null } : r));
  const r = compareGroups({ label: 'a', runs: a }, { label: 'b', runs: b }, ['x']);
  assert.equal(r.pairs, 8);
  assert.match(r.warning ?? '', /"b" has 2 unfinished runs/);
});

test('a group without finished runs has no p-value and says there is nothing to compare', () => {
  const pending = runs(4, firstK(0), {}, 50).map((r) => ({ ...r, status: 'pending' as const, outcome: null }));
  const r = compareGroups({ label: 'a', runs: pending }, { label: 'b', runs: runs(10, firstK(3)) });
  assert.equal(r.p_value, null);
  assert.equal(r.difference, null);
  assert.equal(r.a.rate, null);
  assert.match(r.warning ?? '', /nothing to compare: "a" has no finished runs/);
  assert.match(r.warning ?? '', /"a" has 4 unfinished runs/);
});

test('differingSettings names the settings whose values differ between two sets of runs', () => {
  const a = [...runs(2, firstK(1), { kernel_initializer: 'orthogonal', n_samples: 80 }), ...runs(2, firstK(1), { kernel_initializer: 'orthogonal', n_samples: 130 })];
  const b = [...runs(2, firstK(1), { kernel_initializer: 'glorot_uniform', n_samples: 130 }), ...runs(2, firstK(1), { kernel_initializer: 'glorot_uniform', n_samples: 80 })];
  assert.deepEqual(differingSettings(a, b), [{ name: 'kernel_initializer', a: ['orthogonal'], b: ['glorot_uniform'] }]);
});

test('runs that differ in a setting the groups do not name are refused with the setting to name', () => {
  const a = runs(10, firstK(3), { kernel_initializer: 'glorot_uniform', kernel_gain: 1 });
  const b = runs(10, firstK(6), { kernel_initializer: 'orthogonal', kernel_gain: 0.01 });
  assert.throws(
    () => compareGroups({ label: 'a', runs: a }, { label: 'b', runs: b }, ['kernel_initializer']),
    (e: unknown) => e instanceof ConvergeError && /they differ in kernel_gain; name kernel_gain in --a and --b/.test(e.message),
  );
  const r = compareGroups({ label: 'a', runs: a }, { label: 'b', runs: b }, ['kernel_initializer', 'kernel_gain']);
  assert.deepEqual([r.test, r.pairs, r.discordant_ba], ['mcnemar_exact', 10, 3]);
});

test('when every pair agrees the text says so, without "more seeds may tell" and without a discordant-pairs warning', () => {
  const r = compareGroups({ label: 'a', runs: runs(12, firstK(4), { x: 1 }) }, { label: 'b', runs: runs(12, firstK(4), { x: 2 }) }, ['x']);
  assert.equal(r.test, 'mcnemar_exact');
  assert.deepEqual([r.discordant_ab, r.discordant_ba], [0, 0]);
  assert.equal(r.warning, null);
  const text = formatComparison(r, false);
  assert.match(text, /^all 12 pairs agree \(each converged on both sides or on neither\): no difference in these seeds$/m);
  assert.doesNotMatch(text, /more seeds/);
});
