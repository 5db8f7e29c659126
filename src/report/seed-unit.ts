/**
 * The seed as the unit of a paired comparison. A seed fixes the initial weights and the data order,
 * so when a comparison pools several cells (both N, both kernels…), one seed gives several pairs,
 * and they are not independent: a seed that favours B at N=80 tends to favour it at N=130 too.
 * McNemar's test counts such pairs as independent and is then too confident. Here each seed
 * contributes one number, its net discordance d = (pairs only B converged) − (pairs only A
 * converged), and the test flips the signs of whole seeds (Obuchowski 1998, Stat Med 17:1495;
 * Durkalski et al. 2003, Stat Med 22:2417, whose clustered McNemar statistic T²/Σd² is this
 * test's normal approximation). With one pair per seed it is exactly McNemar's exact test.
 */

/**
 * Exact two-sided sign-flip test of "A and B are exchangeable within every seed": under that
 * hypothesis each seed's net discordance is as likely to be d as −d, independently of the other
 * seeds, so the p-value is P(|Σ ±d_s| ≥ |Σ d_s|) over the 2^S sign patterns, computed exactly by
 * convolution over the integer sums (seeds with d = 0 change nothing).
 */
export function signFlipTest(net: readonly number[]): number {
  for (const d of net) if (!Number.isInteger(d)) throw new RangeError(`signFlipTest: net discordances are integers, got ${d}`);
  const steps = net.map(Math.abs).filter((d) => d > 0);
  const span = steps.reduce((s, d) => s + d, 0);
  if (span === 0) return 1;
  // dist[v + span] = P(Σ ±d = v) over the seeds seen so far.
  let dist = new Float64Array(2 * span + 1);
  dist[span] = 1;
  for (const d of steps) {
    const next = new Float64Array(2 * span + 1);
    for (let v = 0; v < dist.length; v++) {
      const p = dist[v]!;
      if (p === 0) continue;
      next[v - d] = next[v - d]! + p / 2;
      next[v + d] = next[v + d]! + p / 2;
    }
    dist = next;
  }
  const observed = Math.abs(net.reduce((s, d) => s + d, 0));
  let p = 0;
  for (let v = 0; v < dist.length; v++) if (Math.abs(v - span) >= observed) p += dist[v]!;
  return Math.min(1, p);
}

/** One counted pair: its seed and its sign, +1 only B converged, −1 only A, 0 both or neither. */
export interface SignedPair { seed: number; x: -1 | 0 | 1 }

/**
 * The design effect of the paired difference: how much the seeds' clustering inflates its
 * variance over pairs taken as independent. The larger of two estimates, and at least 1:
 * - the between-seed variance of (Σx)/n (ratio estimator, S/(S − 1) small-sample factor) over its
 *   variance with independent pairs (n/(n − 1)), as Rao & Scott (1992, Biometrics 48:577) use it;
 * - Σd_s² / (discordant pairs): the sign-flip test's variance of Σd under "no difference" over
 *   McNemar's, so that the interval and the test rest on the same variance.
 * With few seeds the first alone is too small (cluster variances are biased down with few
 * clusters) and intervals undercover; test/report/seed-unit.test.ts measures the coverage.
 * Dividing every count by it gives Newcombe's interval the effective sample size of the pairs.
 */
export function pairDesignEffect(pairs: readonly SignedPair[]): number {
  const n = pairs.length;
  if (n < 2) return 1;
  const bySeed = new Map<number, { t: number; m: number }>();
  for (const p of pairs) {
    const s = bySeed.get(p.seed) ?? { t: 0, m: 0 };
    s.t += p.x;
    s.m += 1;
    bySeed.set(p.seed, s);
  }
  const seeds = bySeed.size;
  const discordant = pairs.filter((p) => p.x !== 0).length;
  if (seeds < 2 || discordant === 0) return 1;
  const mean = pairs.reduce((s, p) => s + p.x, 0) / n;
  const clusters = [...bySeed.values()];
  const signFlip = clusters.reduce((s, { t }) => s + t * t, 0) / discordant;
  // Both with the small-sample factor (n/(n − 1), S/(S − 1)), so that one pair per seed gives exactly 1.
  const independent = pairs.reduce((s, p) => s + (p.x - mean) ** 2, 0) / (n * (n - 1));
  const between = clusters.reduce((s, { t, m }) => s + (t - mean * m) ** 2, 0);
  const raoScott = independent === 0 ? 1 : ((seeds / (seeds - 1)) * between) / (n * n) / independent;
  return Math.max(1, raoScott, signFlip);
}
