/**
 * Test-only synthetic outcome source: "training" a run is one draw, a pure function of (world,
 * value, repeat) like a real run of a seed. Two worlds:
 *
 * - independent (`shared` unset): every run is its own draw. A run is dead at initialisation with
 *   probability `deadFraction`; an alive run converges with probability
 *   p(v) = σ(slope · (log v − log n50)).
 * - seeds with latent thresholds (`shared` in (0, 1]): repeat r is seed r, as in a real search
 *   (run r of every value uses seed + r), and a seed carries what real seeds carry across values
 *   (issue 19): it is dead at initialisation at every value or at none, and it has its own
 *   log-threshold t_r ~ Logistic(log n50, 1/slope); the run at (v, r) converges iff the seed is
 *   alive and log v > t. With probability `shared` t is the seed's t_r, otherwise a fresh draw
 *   from the same distribution (per-run noise), so the marginal rate among alive seeds is still
 *   exactly σ(slope · (log v − log n50)) and `shared` alone sets how alike one seed's runs are.
 *
 * In both worlds `top` (default 1) caps the rate among alive runs: a fraction 1 − top of alive
 * seeds (of alive runs, in the independent world) never converges, so p(v) = top · σ(…), as real
 * alive seeds top out below 1 (13/16 at N=201, L=200).
 */
import { createRng, hash32 } from '../../src/util/rng';
import { fitSearch, logit, nextSearchStep, sigmoid, type BoundaryAnswer, type Observation, type SearchSettings } from '../../src/search';

export interface Truth {
  n50: number;
  slope: number;
  deadFraction: number;
  /** Probability that a run follows its seed's latent threshold; unset: independent runs. */
  shared?: number;
  /** The rate among alive runs tops out at this. @default 1 */
  top?: number;
}

/** Rate among alive runs at v. */
export function aliveRate(t: Truth, v: number): number {
  return (t.top ?? 1) * sigmoid(t.slope * (Math.log(v) - Math.log(t.n50)));
}

/** The value where the rate among the runs counted (`among`) equals `target`, or undefined if never. */
export function trueBoundary(t: Truth, target: number, among: 'alive' | 'all'): number | undefined {
  const q = target / (t.top ?? 1) / (among === 'all' ? 1 - t.deadFraction : 1);
  if (q >= 1) return undefined;
  return Math.exp(Math.log(t.n50) + logit(q) / t.slope);
}

export function drawRun(t: Truth, world: number, value: number, repeat: number, order = 0): Observation {
  const rng = createRng(hash32(`${world}:${value}:${repeat}`));
  if (t.shared === undefined) {
    const alive = rng.next() >= t.deadFraction;
    const converged = alive && rng.next() < aliveRate(t, value);
    return { value, repeat, outcome: converged ? 'converged' : 'not_converged', alive, order };
  }
  const seed = createRng(hash32(`${world}:seed:${repeat}`));
  const alive = seed.next() >= t.deadFraction;
  const stuck = seed.next() >= (t.top ?? 1);
  const threshold = (u: number) => Math.log(t.n50) + logit(Math.min(Math.max(u, 1e-12), 1 - 1e-12)) / t.slope;
  const own = threshold(seed.next());
  const th = rng.next() < t.shared ? own : threshold(rng.next());
  const converged = alive && !stuck && Math.log(value) > th;
  return { value, repeat, outcome: converged ? 'converged' : 'not_converged', alive, order };
}

/** A whole search against the synthetic source, in process. */
export function simulateSearch(s: SearchSettings, t: Truth, world: number): BoundaryAnswer {
  const obs: Observation[] = [];
  for (;;) {
    const step = nextSearchStep(s, obs);
    if (step.done) return step.answer;
    for (const r of step.runs) obs.push(drawRun(t, world, r.value, r.repeat, obs.length));
  }
}

/** `count` values evenly spaced in log over [lo, hi], rounded to integers. */
export function logGrid(lo: number, hi: number, count: number): number[] {
  return [...new Set(Array.from({ length: count }, (_, i) => Math.round(lo * (hi / lo) ** (i / (count - 1)))))];
}

/**
 * A plain grid of r runs per value, fitted like a search's runs: as a sweep trains it (seeds
 * 0 … r−1 at every value), or with a fresh seed per run (`fresh`).
 */
export function simulateGrid(s: SearchSettings, t: Truth, world: number, values: readonly number[], r: number, fresh = false): { estimate: number | null; ciLow: number | null; ciHigh: number | null } {
  const obs: Observation[] = [];
  values.forEach((value, i) => {
    for (let j = 0; j < r; j++) obs.push(drawRun(t, world, value, fresh ? i * r + j : j, obs.length));
  });
  const fit = fitSearch(s, obs);
  if (!fit) return { estimate: null, ciLow: null, ciHigh: null };
  return {
    estimate: fit.thetaAtEdge ? null : Math.exp(fit.theta),
    ciLow: fit.ciLow === null ? null : Math.exp(fit.ciLow),
    ciHigh: fit.ciHigh === null ? null : Math.exp(fit.ciHigh),
  };
}
