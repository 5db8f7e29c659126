import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chiSquareSf, discordantSplitTest, fisherExact, MAX_EXACT_TABLES, type SplitCounts } from '../../src/report';
import { createRng, type Rng } from '../../src/util/rng';

/**
 * The exact conditional p-value by brute force, independently of the product-of-binomials
 * formula: under "the discordant pairs split alike", given which pairs are discordant and how many
 * favour A in all, every choice of which B of the M labelled pairs favour A is equally likely.
 * Enumerate all C(M, B) choices as bit masks, count how often each table arises, and add the
 * frequencies of the tables no more frequent than the observed one.
 */
function bruteForceSplitP(strata: readonly SplitCounts[]): number {
  const owner: number[] = strata.flatMap((s, i) => Array<number>(s.ab + s.ba).fill(i));
  const m = owner.length;
  const total = strata.reduce((s, x) => s + x.ab, 0);
  const tables = new Map<string, number>();
  let all = 0;
  for (let mask = 0; mask < 1 << m; mask++) {
    let bits = 0;
    const counts = new Array<number>(strata.length).fill(0);
    for (let i = 0; i < m; i++) {
      if (mask & (1 << i)) {
        bits++;
        counts[owner[i]!]!++;
      }
    }
    if (bits !== total) continue;
    all++;
    const key = counts.join(',');
    tables.set(key, (tables.get(key) ?? 0) + 1);
  }
  const observed = tables.get(strata.map((s) => s.ab).join(','))!;
  let p = 0;
  for (const n of tables.values()) if (n <= observed) p += n;
  return p / all;
}

test('with two levels the split test is Fisher\'s exact test on the 2 × 2 table of discordant pairs', () => {
  for (let a1 = 0; a1 <= 6; a1++) {
    for (let b1 = 0; b1 <= 6; b1++) {
      for (const [a2, b2] of [[0, 3], [3, 0], [2, 2], [5, 1], [0, 7], [4, 6]] as const) {
        if (a1 + b1 === 0) continue;
        const t = discordantSplitTest([{ ab: a1, ba: b1 }, { ab: a2, ba: b2 }]);
        assert.equal(t.test, 'exact_conditional');
        assert.ok(Math.abs(t.p_value! - fisherExact(a1, b1, a2, b2)) < 1e-12, `${a1},${b1} / ${a2},${b2}: ${t.p_value}`);
      }
    }
  }
});

test('with three and four levels the split test equals a brute-force enumeration of which pairs favour A', () => {
  const cases: SplitCounts[][] = [
    [{ ab: 4, ba: 0 }, { ab: 1, ba: 3 }, { ab: 2, ba: 2 }],
    [{ ab: 0, ba: 5 }, { ab: 3, ba: 1 }, { ab: 1, ba: 1 }, { ab: 2, ba: 0 }],
    [{ ab: 1, ba: 1 }, { ab: 1, ba: 1 }, { ab: 1, ba: 1 }],
    [{ ab: 6, ba: 1 }, { ab: 0, ba: 2 }, { ab: 3, ba: 4 }],
    [{ ab: 2, ba: 3 }, { ab: 0, ba: 0 }, { ab: 5, ba: 0 }, { ab: 0, ba: 4 }],
  ];
  for (const strata of cases) {
    const t = discordantSplitTest(strata);
    const ref = bruteForceSplitP(strata.filter((s) => s.ab + s.ba > 0));
    assert.equal(t.test, 'exact_conditional');
    assert.ok(Math.abs(t.p_value! - ref) < 1e-12, `${JSON.stringify(strata)}: ${t.p_value} vs brute force ${ref}`);
  }
});

test('a level without discordant pairs says nothing about the split and is left out; one informative level gives no p', () => {
  const t = discordantSplitTest([{ ab: 8, ba: 0 }, { ab: 0, ba: 0 }]);
  assert.deepEqual([t.p_value, t.informative, t.df], [null, 1, 0]);
  const u = discordantSplitTest([{ ab: 8, ba: 0 }, { ab: 0, ba: 0 }, { ab: 1, ba: 3 }]);
  assert.equal(u.informative, 2);
  assert.ok(Math.abs(u.p_value! - fisherExact(8, 0, 1, 3)) < 1e-12);
});

test('the chi-square upper tail matches scipy.stats.chi2.sf', () => {
  // scipy 1.17.1: chi2.sf(x, df)
  const ref: [number, number, number][] = [
    [0.5, 1, 0.47950012218695337], [3.84, 1, 0.05004352124870519], [10, 3, 0.01856613546304325],
    [25, 4, 5.0309817823062075e-05], [1e-3, 2, 0.9995001249791693], [60, 10, 3.6243009520614924e-09],
    [7.5, 7, 0.37873690604821353], [100, 2, 1.9287498479639183e-22],
  ];
  for (const [x, df, p] of ref) assert.ok(Math.abs(chiSquareSf(x, df) - p) <= 1e-10 * Math.max(p, 1e-12) + 1e-15, `chi2.sf(${x}, ${df}) = ${chiSquareSf(x, df)}, scipy ${p}`);
  assert.equal(chiSquareSf(0, 3), 1);
});

test('when the tables are too many to enumerate, Pearson\'s chi-square takes over and matches scipy.stats.chi2_contingency', () => {
  // scipy 1.17.1: chi2_contingency([[12,30,7,22,15,9,28,18],[25,8,20,14,19,27,6,21]], correction=False)
  const ab = [12, 30, 7, 22, 15, 9, 28, 18];
  const ba = [25, 8, 20, 14, 19, 27, 6, 21];
  const t = discordantSplitTest(ab.map((x, i) => ({ ab: x, ba: ba[i]! })));
  assert.equal(t.test, 'chi_square', `more than ${MAX_EXACT_TABLES} tables`);
  assert.equal(t.df, 7);
  assert.ok(Math.abs(t.statistic - 49.27516361903782) < 1e-9, `X² ${t.statistic}`);
  assert.ok(Math.abs(t.p_value! - 2.004026511411598e-08) < 1e-15, `p ${t.p_value}`);
});

/** One simulated comparison: per stratum, the discordant counts of S seeds' pairs. */
function simulateStrata(rng: Rng, seeds: number, alphas: readonly number[], betas: readonly number[], spread: number): SplitCounts[] {
  const strata = alphas.map(() => ({ ab: 0, ba: 0 }));
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  for (let s = 0; s < seeds; s++) {
    // A seed's aptitude is shared by every stratum and both sides, as a seed's initial weights are.
    const u = spread * rng.normal();
    alphas.forEach((alpha, k) => {
      const a = rng.next() < sigmoid(alpha + u);
      const b = rng.next() < sigmoid(alpha + u + betas[k]!);
      if (a && !b) strata[k]!.ab++;
      if (b && !a) strata[k]!.ba++;
    });
  }
  return strata;
}

function rejectionRate(rng: Rng, reps: number, seeds: number, alphas: readonly number[], betas: readonly number[]): number {
  let tested = 0;
  let rejected = 0;
  for (let r = 0; r < reps; r++) {
    const p = discordantSplitTest(simulateStrata(rng, seeds, alphas, betas, 1.5)).p_value;
    if (p === null) continue;
    tested++;
    if (p < 0.05) rejected++;
  }
  return rejected / tested;
}

test('with no interaction the split test rejects at most 5% (plus Monte Carlo error), with shared seeds and unequal base rates', (t) => {
  // The model: logit P(converge) = α_stratum + u_seed + β·[side B], sides independent given the
  // seed. The within-pair odds ratio exp(β) is the same in every stratum (no interaction) while
  // the base rates differ, so strata have very different numbers of discordant pairs.
  const rng = createRng(19);
  const reps = 2000;
  const bound = 0.05 + 2 * Math.sqrt((0.05 * 0.95) / reps);
  for (const [seeds, alphas, beta] of [
    [12, [-1, 1], 0],
    [30, [-1, 1], 1.2],
    [30, [-2, 0, 1.5], -0.8],
    [20, [0, 0, 0, 0], 0.5],
  ] as const) {
    const rate = rejectionRate(rng, reps, seeds, alphas, alphas.map(() => beta));
    t.diagnostic(`${seeds} seeds, α ${alphas.join('/')}, β ${beta}: false-positive rate ${rate.toFixed(4)} (bound ${bound.toFixed(4)})`);
    assert.ok(rate <= bound, `${seeds} seeds, α ${alphas.join('/')}, β ${beta}: false-positive rate ${rate.toFixed(4)} > ${bound.toFixed(4)}`);
  }
});

test('with an interaction (the effect reverses between strata) the split test finds it most of the time', (t) => {
  const rate = rejectionRate(createRng(7), 500, 30, [0, 0], [1.5, -1.5]);
  t.diagnostic(`power ${rate.toFixed(3)}`);
  assert.ok(rate > 0.7, `power ${rate}`);
});
