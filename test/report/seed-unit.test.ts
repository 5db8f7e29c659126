import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mcnemarExact, newcombePaired, pairDesignEffect, signFlipTest, type SignedPair } from '../../src/report';
import { createRng } from '../../src/util/rng';

/** P(|Σ ±d| ≥ |Σ d|) by listing all 2^S sign patterns. */
function bruteForceSignFlip(net: readonly number[]): number {
  const observed = Math.abs(net.reduce((s, d) => s + d, 0));
  let hits = 0;
  for (let mask = 0; mask < 1 << net.length; mask++) {
    const t = net.reduce((s, d, i) => s + (mask & (1 << i) ? -d : d), 0);
    if (Math.abs(t) >= observed) hits++;
  }
  return hits / (1 << net.length);
}

test('the sign-flip test equals a listing of every sign pattern, and McNemar\'s exact test with one pair per seed', () => {
  for (const net of [[2, 1, 1, 2, 1, 1], [3, -1, 2, 0, 1, -2, 1], [1, 1, 1, 1, 1, -1], [-2, -2, 1], [0, 0], [5], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -3, -2]]) {
    assert.ok(Math.abs(signFlipTest(net) - bruteForceSignFlip(net)) < 1e-12, `${net.join(' ')}: ${signFlipTest(net)} vs ${bruteForceSignFlip(net)}`);
  }
  for (let b = 0; b <= 12; b++) {
    for (let c = 0; c <= 12; c++) {
      const net = [...Array<number>(b).fill(-1), ...Array<number>(c).fill(1)];
      assert.ok(Math.abs(signFlipTest(net) - mcnemarExact(b, c)) < 1e-12, `${b} vs ${c}`);
    }
  }
});

test('the design effect is 1 with one pair per seed and grows when a seed\'s pairs agree', () => {
  const single: SignedPair[] = [1, -1, 0, 1, 1, 0, 0, 1].map((x, i) => ({ seed: i, x: x as -1 | 0 | 1 }));
  assert.ok(Math.abs(pairDesignEffect(single) - 1) < 1e-12);
  // Seeds 0–3 each give two pairs with the same sign; seeds 4–7 two concordant pairs.
  const twice: SignedPair[] = [1, 1, -1, 1, 0, 0, 0, 0].flatMap((x, seed) => [{ seed, x: x as -1 | 0 | 1 }, { seed, x: x as -1 | 0 | 1 }]);
  // By hand: six pairs +1, two −1, eight 0; n = 16, mean 1/4, Σ(x − mean)² = 6·0.5625 + 2·1.5625 + 8·0.0625 = 7,
  // independent variance 7/(16·15). Seed totals 2, 2, −2, 2, 0, 0, 0, 0 (two pairs each):
  // Σ(t − 2·mean)² = 3·2.25 + 6.25 + 4·0.25 = 14, clustered variance (8/7)·14/16² = 1/16.
  // Design effect (1/16)/(7/240) = 15/7.
  // The sign-flip ratio, Σt² over the discordant pairs, is 16/8 = 2: the larger one is taken.
  assert.ok(Math.abs(pairDesignEffect(twice) - 15 / 7) < 1e-12, String(pairDesignEffect(twice)));
  // Seeds whose pairs cancel (+1 and −1) lower the between-seed variance below the sign-flip ratio.
  const mixed: SignedPair[] = [[1, 1], [1, 1], [1, -1], [1, -1], [0, 0], [1, 1]].flatMap(([x, y], seed) => [{ seed, x: x as -1 | 0 | 1 }, { seed, x: y as -1 | 0 | 1 }]);
  const ratio = (4 + 4 + 0 + 0 + 0 + 4) / 10;
  assert.ok(pairDesignEffect(mixed) >= ratio - 1e-12, `${pairDesignEffect(mixed)} >= ${ratio}`);
});

test('Newcombe\'s paired interval with a design effect is the interval of the counts divided by it, and never narrower', () => {
  const plain = newcombePaired(10, 4, 12, 34);
  const wide = newcombePaired(10, 4, 12, 34, undefined, 1.6);
  assert.equal(wide.difference, plain.difference);
  assert.ok(wide.lo < plain.lo && wide.hi > plain.hi);
  const same = newcombePaired(20, 8, 24, 68);
  // Twice the pairs with a design effect of 2 carry the information of the counts halved.
  const halved = newcombePaired(20, 8, 24, 68, undefined, 2);
  assert.ok(Math.abs(halved.lo - plain.lo) < 1e-12 && Math.abs(halved.hi - plain.hi) < 1e-12);
  assert.ok(same.hi - same.lo < plain.hi - plain.lo);
  assert.throws(() => newcombePaired(1, 2, 3, 4, undefined, 0.5), RangeError);
});

test('seeds shared by several cells: McNemar on the pooled pairs rejects too often, the sign-flip test by seed holds 5%', (t) => {
  // No effect on average, but each seed leans one way or the other (γ ~ N(0, 2) between the
  // sides' logits), in every cell alike, as a seed's initial weights would: pairs of one seed agree.
  // The model is symmetric in A and B, so each seed's net discordance is symmetric about 0.
  const rng = createRng(1719);
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  const reps = 2000;
  let mcnemar = 0;
  let byseed = 0;
  for (let r = 0; r < reps; r++) {
    const net: number[] = [];
    let b = 0;
    let c = 0;
    for (let s = 0; s < 30; s++) {
      const u = 1.5 * rng.normal();
      const g = 2 * rng.normal();
      let d = 0;
      for (const alpha of [-1, 0, 1]) {
        const ya = rng.next() < sigmoid(alpha + u - g / 2);
        const yb = rng.next() < sigmoid(alpha + u + g / 2);
        if (ya && !yb) (b++, d--);
        if (yb && !ya) (c++, d++);
      }
      net.push(d);
    }
    if (mcnemarExact(b, c) < 0.05) mcnemar++;
    if (signFlipTest(net) < 0.05) byseed++;
  }
  const bound = 0.05 + 2 * Math.sqrt((0.05 * 0.95) / reps);
  t.diagnostic(`false-positive rate: sign-flip by seed ${byseed / reps}, McNemar on pooled pairs ${mcnemar / reps} (bound ${bound.toFixed(4)})`);
  assert.ok(byseed / reps <= bound, `sign-flip by seed: ${byseed / reps}`);
  assert.ok(mcnemar / reps > bound, `McNemar on pooled pairs: ${mcnemar / reps} (expected too many rejections)`);
});

test('the interval widened by the design effect covers the paired difference at about 95% when seeds give several pairs; pairs taken as independent do not', (t) => {
  // The model of the test above with an effect (β = 0.5 on the logit) and strongly leaning seeds
  // (γ ~ N(0, 3)), 15 seeds × 3 cells. The true difference of the rates, by a large simulation.
  const rng = createRng(4242);
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  const cells = [-1, 0, 1];
  const beta = 0.5;
  const draw = (u: number, g: number, alpha: number) => ({ a: sigmoid(alpha + u - beta / 2 - g / 2), b: sigmoid(alpha + u + beta / 2 + g / 2) });
  let truth = 0;
  const big = 300_000;
  for (let i = 0; i < big; i++) {
    const p = draw(1.5 * rng.normal(), 3 * rng.normal(), cells[i % 3]!);
    truth += p.b - p.a;
  }
  truth /= big;
  const reps = 2000;
  let naive = 0;
  let widened = 0;
  for (let r = 0; r < reps; r++) {
    let both = 0, onlyA = 0, onlyB = 0, neither = 0;
    const pairs: SignedPair[] = [];
    for (let seed = 0; seed < 15; seed++) {
      const u = 1.5 * rng.normal();
      const g = 3 * rng.normal();
      for (const alpha of cells) {
        const p = draw(u, g, alpha);
        const ya = rng.next() < p.a;
        const yb = rng.next() < p.b;
        if (ya && yb) both++;
        else if (ya) onlyA++;
        else if (yb) onlyB++;
        else neither++;
        pairs.push({ seed, x: ya === yb ? 0 : yb ? 1 : -1 });
      }
    }
    const plain = newcombePaired(both, onlyB, onlyA, neither);
    const wide = newcombePaired(both, onlyB, onlyA, neither, undefined, pairDesignEffect(pairs));
    if (plain.lo <= truth && truth <= plain.hi) naive++;
    if (wide.lo <= truth && truth <= wide.hi) widened++;
  }
  const floor = 0.95 - 2 * Math.sqrt((0.95 * 0.05) / reps);
  t.diagnostic(`coverage: with the design effect ${widened / reps}, pairs as independent ${naive / reps}`);
  assert.ok(widened / reps >= floor, `with the design effect: coverage ${widened / reps}`);
  assert.ok(naive / reps < floor, `pairs as independent: coverage ${naive / reps} (expected below ${floor.toFixed(3)})`);
});
