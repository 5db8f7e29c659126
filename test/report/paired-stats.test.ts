import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binomialTestHalf, mcnemarExact, newcombeIndependent, newcombePaired } from '../../src/report';

/**
 * The two-sided exact binomial p at p = 1/2, the definition written out with exact integers:
 * the probability of every outcome no more likely than the observed one, C(m, i) <= C(m, x).
 */
function exactBinomialP(x: number, m: number): number {
  const choose: bigint[] = [1n];
  for (let i = 1; i <= m; i++) choose.push((choose[i - 1]! * BigInt(m - i + 1)) / BigInt(i));
  let num = 0n;
  for (const c of choose) if (c <= choose[x]!) num += c;
  const den = 1n << BigInt(m);
  // A ratio of big integers to a double: scale to 1e15 and divide once.
  const scaled = (num * 10n ** 15n) / den;
  return Math.min(1, Number(scaled) / 1e15);
}

test('the exact binomial test at 1/2 equals the sum of exact binomial coefficients within 1e-9', () => {
  for (let m = 0; m <= 60; m++) {
    for (let x = 0; x <= m; x++) {
      const p = binomialTestHalf(x, m);
      const ref = exactBinomialP(x, m);
      assert.ok(Math.abs(p - ref) < 1e-9, `x=${x} m=${m}: ${p} vs ${ref}`);
    }
  }
  for (const [x, m] of [[40, 200], [95, 200], [300, 700]] as const) {
    assert.ok(Math.abs(binomialTestHalf(x, m) - exactBinomialP(x, m)) < 1e-9);
  }
  // The values the issue quotes: 5 seeds against 0 gives 0.0625; 6 against 0 reaches 0.03125.
  assert.ok(Math.abs(mcnemarExact(5, 0) - 0.0625) < 1e-12);
  assert.ok(Math.abs(mcnemarExact(0, 6) - 0.03125) < 1e-12);
  assert.equal(mcnemarExact(0, 0), 1);
});

// ---- Newcombe's paired interval, computed independently --------------------------------------

const Z = 1.959964;

/** Wilson limits as the roots of |p̂ − p| = z·sqrt(p(1 − p)/n), found by bisection (not the closed form). */
function wilsonByBisection(k: number, n: number): [number, number] {
  const ph = k / n;
  const outside = (p: number) => Math.abs(ph - p) > Z * Math.sqrt((p * (1 - p)) / n);
  const root = (inside: number, out: number): number => {
    let a = inside;
    let b = out;
    for (let i = 0; i < 200; i++) {
      const mid = (a + b) / 2;
      if (outside(mid)) b = mid;
      else a = mid;
    }
    return (a + b) / 2;
  };
  return [k === 0 ? 0 : root(ph, 0), k === n ? 1 : root(ph, 1)];
}

/** Newcombe (1998) method 10 from its description: a, b, c, d = both, first only, second only, neither. */
function referencePaired(a: number, b: number, c: number, d: number): [number, number] {
  const n = a + b + c + d;
  const p1 = (a + b) / n;
  const p2 = (a + c) / n;
  const [l1, u1] = wilsonByBisection(a + b, n);
  const [l2, u2] = wilsonByBisection(a + c, n);
  const denom = (a + b) * (c + d) * (a + c) * (b + d);
  let phi = 0;
  if (denom !== 0) {
    const num = a * d - b * c;
    phi = (num > n / 2 ? num - n / 2 : num < 0 ? num : 0) / Math.sqrt(denom);
  }
  const delta = Math.sqrt((p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2);
  const eps = Math.sqrt((u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2);
  return [Math.max(-1, p1 - p2 - delta), Math.min(1, p1 - p2 + eps)];
}

test("Newcombe's paired interval reproduces the published example: 36, 12, 2, 0 gives 0.0569 to 0.3404", () => {
  // Newcombe (1998), Stat Med 17:2635, Table II, example (a), method 10.
  const r = newcombePaired(36, 12, 2, 0);
  assert.ok(Math.abs(r.difference - 0.2) < 1e-12);
  assert.ok(Math.abs(r.lo - 0.0569) < 5e-5, `lo ${r.lo}`);
  assert.ok(Math.abs(r.hi - 0.3404) < 5e-5, `hi ${r.hi}`);
});

test("Newcombe's paired interval equals an independent computation on every table with n <= 14", () => {
  for (let n = 1; n <= 14; n++) {
    for (let a = 0; a <= n; a++) {
      for (let b = 0; a + b <= n; b++) {
        for (let c = 0; a + b + c <= n; c++) {
          const d = n - a - b - c;
          const r = newcombePaired(a, b, c, d);
          const [lo, hi] = referencePaired(a, b, c, d);
          assert.ok(Math.abs(r.lo - lo) < 1e-9 && Math.abs(r.hi - hi) < 1e-9, `${a},${b},${c},${d}: [${r.lo}, ${r.hi}] vs [${lo}, ${hi}]`);
          assert.ok(r.lo <= r.difference + 1e-12 && r.difference <= r.hi + 1e-12);
        }
      }
    }
  }
});

test("Newcombe's independent (hybrid score) interval equals the same construction with φ = 0", () => {
  for (const [k1, n1, k2, n2] of [[9, 10, 3, 10], [0, 10, 0, 10], [10, 10, 0, 10], [7, 27, 1, 33], [5, 20, 11, 20]] as const) {
    const r = newcombeIndependent(k1, n1, k2, n2);
    const [l1, u1] = wilsonByBisection(k1, n1);
    const [l2, u2] = wilsonByBisection(k2, n2);
    const p1 = k1 / n1;
    const p2 = k2 / n2;
    const lo = p1 - p2 - Math.hypot(p1 - l1, u2 - p2);
    const hi = p1 - p2 + Math.hypot(u1 - p1, p2 - l2);
    assert.ok(Math.abs(r.lo - Math.max(-1, lo)) < 1e-9 && Math.abs(r.hi - Math.min(1, hi)) < 1e-9, `${k1}/${n1} vs ${k2}/${n2}`);
  }
});

// ---- coverage in simulation --------------------------------------------------------------------

/** mulberry32: a small seeded generator, so the simulation is the same on every run. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test("Newcombe's paired 95% interval covers the true difference in at least 93% of simulated sweeps", (t) => {
  // Joint probabilities of (both converge, only side 1, only side 2, neither) per seed, and seeds per cell.
  const settings: { n: number; p: [number, number, number, number] }[] = [
    { n: 10, p: [0.3, 0.2, 0.1, 0.4] },
    { n: 20, p: [0.1, 0.3, 0.05, 0.55] },
    { n: 30, p: [0.45, 0.05, 0.05, 0.45] },
    { n: 30, p: [0.2, 0.25, 0.02, 0.53] },
    { n: 50, p: [0.05, 0.1, 0.05, 0.8] },
  ];
  const reps = 4000;
  const coverages: string[] = [];
  settings.forEach(({ n, p }, i) => {
    const rand = rng(1000 + i);
    const truth = p[1] - p[2];
    let covered = 0;
    for (let rep = 0; rep < reps; rep++) {
      const t = [0, 0, 0, 0];
      for (let s = 0; s < n; s++) {
        const u = rand();
        t[u < p[0] ? 0 : u < p[0] + p[1] ? 1 : u < p[0] + p[1] + p[2] ? 2 : 3]!++;
      }
      const ci = newcombePaired(t[0]!, t[1]!, t[2]!, t[3]!);
      if (ci.lo <= truth && truth <= ci.hi) covered++;
    }
    const coverage = covered / reps;
    coverages.push(`n=${n} p=${p.join('/')}: ${coverage.toFixed(4)}`);
    assert.ok(coverage >= 0.93, `coverage ${coverage} at n=${n}, p=${p.join('/')}`);
  });
  t.diagnostic(`coverage of Newcombe's paired 95% interval: ${coverages.join('; ')}`);
});
