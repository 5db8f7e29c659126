import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from '../helpers';
import { buildDb } from './synthetic-db';

interface GroupJson { k: number; n: number }
interface PointJson { threshold: number; a_k: number; a_n: number; b_k: number; b_n: number; p_value: number; verdict: string }
interface ComparisonJson {
  test: string; pairs: number; seeds: number; seeds_discordant: number; discordant_ab: number; discordant_ba: number; p_value: number;
  a: GroupJson; b: GroupJson; warning: string | null;
  heterogeneity: { over: string[]; p_value: number | null; test: string; strata: { label: string; discordant_ab: number; discordant_ba: number }[] } | null;
  by_threshold: PointJson[]; threshold_dependent: boolean | null; threshold_summary: string;
}
interface CompareJson extends ComparisonJson { by: string[]; strata: (ComparisonJson & { stratum: string; values: Record<string, unknown> })[]; thresholds: number[] }

/** C(n, k) as a double, by the product formula. */
function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/**
 * The issue's example at L=100: batch 1 against batch 16 at N=20 (8/12 vs 0/12) and N=60
 * (9/12 vs 9/12, two seeds each way). `n60` picks which seeds converge at N=60.
 */
function issueExample(n60: (batch: number, seed: number) => boolean = (batch, seed) => (batch === 1 ? seed <= 9 : seed >= 3 && seed <= 11)) {
  return buildDb(
    'name: syn\nseed: 1\nrepeats: 12\ndata: {seq_len: 100}\ngrid:\n  n_samples: [20, 60]\n  batch_size: [1, 16]\n',
    (p, seed) => (p.n_samples === 20 ? p.batch_size === 1 && seed <= 8 : n60(p.batch_size as number, seed)),
  );
}

function compareJson(args: string[]): CompareJson {
  const r = runCli(['compare', ...args, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as CompareJson;
}

describe('compare --by and the verdict across thresholds, on a real database', () => {
  it('compare --by n_samples on the issue\'s example reports both strata side by side and a heterogeneity p-value', () => {
    const { file } = issueExample();
    const c = compareJson([file, '--a', 'batch_size=1', '--b', 'batch_size=16', '--by', 'n_samples']);
    assert.deepEqual(c.by, ['n_samples']);
    assert.deepEqual(c.strata.map((s) => [s.stratum, s.a.k, s.a.n, s.b.k, s.b.n, s.discordant_ab, s.discordant_ba, s.test]), [
      ['n_samples=20', 8, 12, 0, 12, 8, 0, 'mcnemar_exact'],
      ['n_samples=60', 9, 12, 9, 12, 2, 2, 'mcnemar_exact'],
    ]);
    assert.ok(Math.abs(c.strata[0]!.p_value - 2 / 2 ** 8) < 1e-12, 'N=20: 8 seeds against 0, p = 0.0078 as the issue says');
    assert.equal(c.strata[1]!.p_value, 1);
    // The discordant pairs split 8:0 at N=20 and 2:2 at N=60. Given 10 pairs favouring A of 12, the
    // tables are b20 = 6, 7, 8 with probabilities C(8,b)·C(4,10−b)/C(12,10) = 28, 32, 6 (/66); the
    // observed (8) is the least likely, so p = 6/66.
    const h = c.heterogeneity!;
    assert.deepEqual([h.over, h.test, h.strata.map((s) => [s.label, s.discordant_ab, s.discordant_ba])], [['n_samples'], 'exact_conditional', [['n_samples=20', 8, 0], ['n_samples=60', 2, 2]]]);
    assert.ok(Math.abs(h.p_value! - (choose(8, 8) * choose(4, 2)) / choose(12, 10)) < 1e-12, `p ${h.p_value}`);
    // The pooled comparison reuses every seed in both strata: the seed is the unit.
    assert.equal(c.test, 'sign_flip_seed');
    const text = runCli(['compare', file, '--a', 'batch_size=1', '--b', 'batch_size=16', '--by', 'n_samples']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^within each level of n_samples:$/m);
    assert.match(text.stdout, /^n_samples=20 +8\/12 +0\/12 +8 +0 +-0\.67 .*0\.00781/m);
    assert.match(text.stdout, /^n_samples=60 +9\/12 +9\/12 +2 +2 +\+0\.00 .* 1\.00/m);
    assert.match(text.stdout, /do the levels of n_samples agree\? no evidence that they differ; exact conditional test .* over 2 levels, p = 0\.0909/);
  });

  it('a pooled comparison over strata that disagree says so, and so does one without --by', () => {
    // N=60: batch 16 converges on seeds 1–11, batch 1 on 1–6: 5 seeds favour batch 16 there.
    const { file } = issueExample((batch, seed) => seed <= (batch === 1 ? 6 : 11));
    const c = compareJson([file, '--a', 'batch_size=1', '--b', 'batch_size=16', '--by', 'n_samples']);
    // Fisher on [[8, 0], [0, 5]]: only the observed table is as unlikely, 1/C(13, 5).
    assert.ok(Math.abs(c.heterogeneity!.p_value! - 1 / choose(13, 5)) < 1e-12, `p ${c.heterogeneity!.p_value}`);
    assert.match(c.warning!, /the strata disagree: the effect differs between levels of n_samples \(pairs converged only in A vs only in B, n_samples=20: 8 vs 0, n_samples=60: 0 vs 5; heterogeneity p = 0\.000777\)/);
    const plain = runCli(['compare', file, '--a', 'batch_size=1', '--b', 'batch_size=16']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stdout, /^warning: .*the strata disagree: .*; read them apart with --by n_samples$/m);
    assert.match(plain.stdout, /the pairs pool levels of n_samples: do their effects agree\? no: the effect differs between them/);
  });

  it('a pooled comparison whose pairs reuse a seed across cells takes the seed as the unit (sign-flip on each seed\'s net discordance)', () => {
    // Two cells (N = 80, 130) with the same 10 seeds: B alone converges on seeds 1–5 at 80 and on
    // 2, 5, 6 at 130; A alone on seed 9 at 130.
    const { file } = buildDb(
      'name: syn\nseed: 1\nrepeats: 10\ndata: {seq_len: 200}\ngrid:\n  n_samples: [80, 130]\n  batch_size: [1, 32]\n',
      (p, seed) => (p.batch_size === 1 ? seed <= (p.n_samples === 80 ? 5 : 6) : p.n_samples === 130 && ((seed <= 4 && seed !== 2) || seed === 9)),
    );
    const c = compareJson([file, '--a', 'batch_size=32', '--b', 'batch_size=1']);
    // Each seed's net discordance, recounted from the file with plain SQL, and the sign-flip p by listing all 2^10 sign patterns.
    const db = new Database(file, { readonly: true });
    const net = db.prepare(
      `select sum((y.outcome = 'converged') - (x.outcome = 'converged')) as d from runs x join runs y
       on x.seed = y.seed and x.n_samples = y.n_samples where x.batch_size = 32 and y.batch_size = 1 group by x.seed order by x.seed`,
    ).pluck().all() as number[];
    db.close();
    assert.deepEqual(net, [1, 2, 1, 1, 2, 1, 0, 0, -1, 0]);
    const observed = Math.abs(net.reduce((s, d) => s + d, 0));
    let hits = 0;
    for (let mask = 0; mask < 1 << net.length; mask++) if (Math.abs(net.reduce((s, d, i) => s + (mask & (1 << i) ? -d : d), 0)) >= observed) hits++;
    assert.equal(c.test, 'sign_flip_seed');
    assert.deepEqual([c.pairs, c.seeds, c.seeds_discordant, c.discordant_ab, c.discordant_ba], [20, 10, 7, 1, 8]);
    assert.ok(Math.abs(c.p_value - hits / 1024) < 1e-12, `p ${c.p_value} vs ${hits}/1024`);
    const text = runCli(['compare', file, '--a', 'batch_size=32', '--b', 'batch_size=1']).stdout;
    assert.match(text, /seed as the unit: the 20 pairs come from 10 seeds/);
    assert.match(text, /exact sign-flip by seed \(7 seeds favour a side\) two-sided p = /);
  });

  it('compare shows the verdict across thresholds from the stored epochs, and says "depends on the threshold" where it flips', () => {
    // One epoch per run. N=80: seeds 1–3 end at 0.04, the others at 0.09; N=130: seeds 1–10 at 0.025, 11–12 at 0.3.
    const { file } = buildDb(
      'name: syn\nseed: 1\nrepeats: 12\ndata: {seq_len: 200}\ntrain: {epochs: 1}\ngrid:\n  n_samples: [80, 130]\n',
      () => false,
      'flip.db',
      { curve: (p, seed) => [p.n_samples === 80 ? (seed <= 3 ? 0.04 : 0.09) : seed <= 10 ? 0.025 : 0.3] },
    );
    const c = compareJson([file, '--a', 'n_samples=80', '--b', 'n_samples=130']);
    assert.deepEqual(c.thresholds, [0.03, 0.05, 0.07, 0.1, 0.15], "0.6, 1, 1.4, 2 and 3 times the rule's 0.05");
    const db = new Database(file, { readonly: true });
    const below = (n: number, t: number) => db.prepare('select count(*) from epochs e join runs r on r.id = e.run_id where r.n_samples = ? and e.pop_mae < ?').pluck().get(n, t) as number;
    for (const p of c.by_threshold) assert.deepEqual([p.a_k, p.a_n, p.b_k, p.b_n], [below(80, p.threshold), 12, below(130, p.threshold), 12], `t = ${p.threshold}`);
    db.close();
    assert.deepEqual(c.by_threshold.map((p) => p.verdict), ['b_higher', 'b_higher', 'b_higher', 'no_difference_shown', 'no_difference_shown']);
    assert.equal(c.threshold_dependent, true);
    assert.equal(c.threshold_summary, 'depends on the threshold: B higher at 0.03, 0.05, 0.07; no difference shown at 0.1, 0.15');
    const text = runCli(['compare', file, '--a', 'n_samples=80', '--b', 'n_samples=130']).stdout;
    assert.match(text, /^across thresholds \(pop_mae < t; the same runs re-scored from their stored epochs, nothing retrained\):$/m);
    assert.match(text, /^0\.05 \(rule\) +3\/12 +10\/12 /m);
    assert.match(text, /^warning: depends on the threshold: B higher at 0\.03, 0\.05, 0\.07; no difference shown at 0\.1, 0\.15$/m);
    // A verdict that holds everywhere says so, with the range of p.
    const robust = compareJson([file, '--a', 'n_samples=80', '--b', 'n_samples=130', '--thresholds', '0.05,0.03,0.07']);
    assert.deepEqual(robust.thresholds, [0.03, 0.05, 0.07]);
    assert.equal(robust.threshold_dependent, false);
    assert.match(robust.threshold_summary, /^B higher at every threshold from 0\.03 to 0\.07 \(p 0\.00\d+ to 0\.0\d+\)$/);
  });

  it('--by a setting that defines the groups, an unknown --by and bad --thresholds are refused with one line', () => {
    const { file } = issueExample();
    const cases: [string[], RegExp][] = [
      [['--by', 'batch_size'], /--by batch_size: batch_size tells A from B; --by takes a setting both groups share .*\[compare\.badBy\]/],
      [['--by', 'n_sample'], /--by n_sample: not a setting \(did you mean n_samples\?\); settings: .*\[compare\.badBy\]/],
      [['--thresholds', '0.05,abc'], /--thresholds takes positive numbers separated by commas .*got "abc"/],
      [['--thresholds', '0.05,-1'], /got "-1"/],
    ];
    for (const [extra, message] of cases) {
      const r = runCli(['compare', file, '--a', 'batch_size=1', '--b', 'batch_size=16', ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    }
  });
});
