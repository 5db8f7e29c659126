/**
 * The boundary search as a deterministic state machine over observed runs: given every run
 * finished so far (value, repeat, outcome), say which runs (value, repeat) to train next, or that
 * the search is done and with what answer. Nothing is remembered between calls, so a search
 * killed at any point resumes exactly: the database holds the observations, and the next step is
 * a function of them. The same code drives a real search and the in-process synthetic one of the
 * validity test.
 *
 * Issue 19: a seed carries its own threshold across values (its runs at different N converge
 * alike), so every run asks for a seed the boundary has not used, and the interval takes the
 * seed, not the run, as the unit (seed-clusters.ts) for databases whose runs share seeds; alive
 * seeds may top out below a rate of 1, which the ceiling model follows (topped.ts). The
 * coverage and the runs against a plain grid are measured by `npm run bench -- --only search`.
 */
import { expectedInformation, fitBoundary, thetaVarianceWith, type Fit, type Probe } from './logistic';
import { seedClusterCut, type SeededRun } from './seed-clusters';
import { fitToppedBoundary } from './topped';

export type Among = 'alive' | 'all';

export interface SearchSettings {
  /** Inclusive integer bounds of the searched axis. */
  lo: number;
  hi: number;
  /** Rate defining the boundary, in (0, 1). */
  target: number;
  /** Count runs alive at initialisation only, or all runs. */
  among: Among;
  /** Stop when (ci_high − ci_low) / estimate is at most this. */
  precision: number;
  /** At most this many runs (of every outcome). */
  budget: number;
  /** Seeds added at a probe per step (the sweep's `repeats`, or its `min`). */
  batch: number;
  /** Probes of the opening design, spread evenly in log value. @default 5 */
  initialProbes?: number;
  /**
   * Which seeds new runs get. `fresh`: a seed no run of the boundary has used, so runs are
   * independent (a seed carries its own threshold across values, issue 19, and re-using it adds
   * little). `shared`: seeds 0, 1, … at every value, as searches did before; kept to measure
   * the difference (bench/search.ts). Runs already in a database count either way.
   * @default 'fresh'
   */
  seeds?: 'fresh' | 'shared';
  /**
   * What the interval takes as independent: `seed` (a seed's runs are one cluster, see
   * seed-clusters.ts) or `run` (every run, as before issue 19: too narrow when runs share seeds;
   * kept to measure the difference).
   * @default 'seed'
   */
  interval?: 'seed' | 'run';
  /**
   * The dose-response model: `ceiling` (the rate may top out below 1, as real alive seeds do,
   * see topped.ts) or `logistic` (it rises from 0 to 1, as searches assumed before issue 19;
   * kept to measure the difference).
   * @default 'ceiling'
   */
  model?: 'logistic' | 'ceiling';
}

/** One finished run of the search. `repeat` r uses seed spec.seed + r (at whatever value). */
export interface Observation {
  value: number;
  repeat: number;
  /** failed: trained but no outcome (crash, timeout); it costs budget and counts nowhere. */
  outcome: 'converged' | 'not_converged' | 'failed';
  /** Alive at initialisation (the ReLU output not dead before training). */
  alive: boolean;
  /** Order in which the run was asked for (its database id): recovers the previous look. */
  order: number;
}

export interface RunRequest {
  value: number;
  repeat: number;
}

/**
 * - crosses: the rate crosses the target inside the range (bracketed);
 * - above / below: the rate is above / below the target everywhere in the range;
 * - undetermined: the budget ran out before the data said either.
 */
export type Verdict = 'crosses' | 'above' | 'below' | 'undetermined';

export interface BoundaryAnswer {
  bracketed: boolean;
  verdict: Verdict;
  /** The value where the fitted rate equals the target, when bracketed (else the fit's value if finite, or null). */
  estimate: number | null;
  /** 95 % profile-likelihood interval; null where it is open-ended. */
  ciLow: number | null;
  ciHigh: number | null;
  /** Fitted slope of logit(rate / ceiling) per unit of log value. */
  slope: number | null;
  /** Fitted ceiling of the rate (its upper asymptote; 1 when the rate rises all the way). */
  ceiling: number | null;
  /** Runs used (every outcome). */
  runs: number;
  probes: Probe[];
  stop: 'precision' | 'outside' | 'budget';
}

export type SearchStep = { done: false; runs: RunRequest[]; answer: BoundaryAnswer } | { done: true; runs: []; answer: BoundaryAnswer };

/** Values a search may probe: about 48 integers evenly spread in log value (every integer in a short range). */
export function candidateValues(lo: number, hi: number): number[] {
  if (hi - lo + 1 <= 48) return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  const out = new Set<number>();
  for (let i = 0; i < 48; i++) out.add(Math.round(lo * (hi / lo) ** (i / 47)));
  return [...out].sort((a, b) => a - b);
}

/** Counted evidence per probed value, sorted by value: k converged of n counted runs. */
export function tallyProbes(obs: readonly Observation[], among: Among): Probe[] {
  const by = new Map<number, Probe>();
  for (const o of obs) {
    let p = by.get(o.value);
    if (!p) by.set(o.value, (p = { value: o.value, k: 0, n: 0 }));
    if (!counted(o, among)) continue;
    p.n += 1;
    if (o.outcome === 'converged') p.k += 1;
  }
  return [...by.values()].sort((a, b) => a.value - b.value);
}

/** The θ domain: the range widened by its own width (at least ×4) on each side, in log value. */
function domain(s: SearchSettings): { min: number; max: number } {
  const w = Math.max(Math.log(4), Math.log(s.hi / s.lo));
  return { min: Math.log(s.lo) - w, max: Math.log(s.hi) + w };
}

/** Is the run counted in n? (failed runs never are; dead-at-init ones only under `among: all`.) */
function counted(o: Observation, among: Among): boolean {
  return o.outcome !== 'failed' && (among === 'all' || o.alive);
}

/**
 * The boundary fit of a search's runs. Its interval holds when runs share seeds (a database
 * written before fresh seeds has seed r at every value; a plain grid does too): see seed-clusters.ts.
 */
export function fitSearch(s: SearchSettings, obs: readonly Observation[]): Fit | undefined {
  const d = domain(s);
  const probes = tallyProbes(obs, s.among);
  const opts = { target: s.target, thetaMin: d.min, thetaMax: d.max };
  const ceiling = s.model !== 'logistic';
  const fit = ceiling ? fitToppedBoundary : fitBoundary;
  if (s.interval === 'run') return fit(probes, opts);
  const runs: SeededRun[] = obs.filter((o) => counted(o, s.among)).map((o) => ({ x: Math.log(o.value), converged: o.outcome === 'converged', seed: o.repeat }));
  return fit(probes, { ...opts, chi2: seedClusterCut(runs, s.target, ceiling) });
}

function answerFrom(s: SearchSettings, fit: Fit | undefined, probes: Probe[], runs: number, final: boolean): { answer: BoundaryAnswer; settled: boolean } {
  const base = { runs, probes, slope: fit ? fit.b : null, ceiling: fit ? fit.top : null };
  if (!fit) {
    return { answer: { ...base, bracketed: false, verdict: 'undetermined', estimate: null, ciLow: null, ciHigh: null, stop: 'budget' }, settled: false };
  }
  const xlo = Math.log(s.lo);
  const xhi = Math.log(s.hi);
  const est = fit.thetaAtEdge ? null : Math.exp(fit.theta);
  const ciLow = fit.ciLow === null ? null : Math.exp(fit.ciLow);
  const ciHigh = fit.ciHigh === null ? null : Math.exp(fit.ciHigh);
  const interval = { estimate: est, ciLow, ciHigh };
  // The whole interval beyond one end of the range: the crossing is outside it (95 %), and the
  // side of the range it lies on, with the sign of the slope, says whether the rate is above or below.
  const outsideLow = fit.ciHigh !== null && fit.ciHigh < xlo;
  const outsideHigh = fit.ciLow !== null && fit.ciLow > xhi;
  if (outsideLow || outsideHigh) {
    const increasing = fit.b > 0;
    const verdict: Verdict = outsideLow === increasing ? 'above' : 'below';
    return { answer: { ...base, ...interval, bracketed: false, verdict, stop: 'outside' }, settled: true };
  }
  const inRange = est !== null && fit.theta >= xlo && fit.theta <= xhi;
  const bounded = ciLow !== null && ciHigh !== null;
  if (inRange && bounded && (ciHigh - ciLow) / est <= s.precision) {
    return { answer: { ...base, ...interval, bracketed: true, verdict: 'crosses', stop: 'precision' }, settled: true };
  }
  const bracketed = final && inRange && bounded;
  return { answer: { ...base, ...interval, bracketed, verdict: bracketed ? 'crosses' : 'undetermined', stop: 'budget' }, settled: false };
}

/** The opening design: `initialProbes` values spread evenly in log value, `batch` seeds each (within budget), fresh seeds at each value unless `seeds: shared`. */
function initialDesign(s: SearchSettings): RunRequest[] {
  const candidates = candidateValues(s.lo, s.hi);
  const p0 = Math.min(s.initialProbes ?? 5, candidates.length);
  const each = Math.max(1, Math.min(s.batch, Math.floor(s.budget / p0)));
  const picks = [...new Set(Array.from({ length: p0 }, (_, i) => candidates[Math.round((i * (candidates.length - 1)) / Math.max(1, p0 - 1))]!))];
  const first = (i: number) => (s.seeds === 'shared' ? 0 : i * each);
  return picks.flatMap((value, i) => Array.from({ length: each }, (_, r) => ({ value, repeat: first(i) + r }))).slice(0, s.budget);
}

/**
 * Did the look before the last batch already meet the precision? Requiring it at two consecutive
 * looks keeps the search from stopping on a lucky streak that made the slope look steep and the
 * interval narrow (in simulation such early stops covered the truth far less than 95 %).
 */
function precisionAtPreviousLook(s: SearchSettings, obs: readonly Observation[]): boolean {
  const init = initialDesign(s).length;
  if (obs.length <= init) return false;
  const prev = init + Math.floor((obs.length - init - 1) / s.batch) * s.batch;
  const earlier = [...obs].sort((a, b) => a.order - b.order).slice(0, prev);
  return answerFrom(s, fitSearch(s, earlier), tallyProbes(earlier, s.among), prev, false).answer.stop === 'precision';
}

/**
 * The next step of a search. Call it when every run asked for so far has finished: runs still in
 * flight are not observations, and deciding without them would not be what an uninterrupted
 * search decides.
 */
export function nextSearchStep(s: SearchSettings, obs: readonly Observation[]): SearchStep {
  const candidates = candidateValues(s.lo, s.hi);
  const used = obs.length;
  const repeatsAt = new Map<number, number>();
  let nextSeed = 0;
  for (const o of obs) {
    repeatsAt.set(o.value, Math.max(repeatsAt.get(o.value) ?? 0, o.repeat + 1));
    nextSeed = Math.max(nextSeed, o.repeat + 1);
  }
  const ask = (value: number, count: number): RunRequest[] => {
    const first = s.seeds === 'shared' ? (repeatsAt.get(value) ?? 0) : nextSeed;
    return Array.from({ length: count }, (_, i) => ({ value, repeat: first + i }));
  };
  const probes = tallyProbes(obs, s.among);
  const remaining = s.budget - used;
  if (used === 0) return { done: false, runs: initialDesign(s), answer: answerFrom(s, undefined, probes, 0, false).answer };
  const fit = fitSearch(s, obs);
  const now = answerFrom(s, fit, probes, used, remaining <= 0);
  if (now.settled && (now.answer.stop !== 'precision' || precisionAtPreviousLook(s, obs))) {
    return { done: true, runs: [], answer: now.answer };
  }
  if (remaining <= 0) return { done: true, runs: [], answer: now.answer };
  const count = Math.min(s.batch, remaining);
  if (!fit) {
    // Too few counted runs to fit (e.g. most were dead at initialisation): add seeds to the probe
    // with the fewest counted runs, the lowest value first.
    const fewest = [...probes].sort((a, b) => a.n - b.n || a.value - b.value)[0];
    const value = fewest ? fewest.value : candidates[0]!;
    return { done: false, runs: ask(value, count), answer: now.answer };
  }
  // Where do `count` more runs shrink the asymptotic variance of θ̂ most (a c-optimal sequential
  // design at the current estimate)? Expected counted runs scale by the alive fraction so far.
  const countedRuns = probes.reduce((a, p) => a + p.n, 0);
  const expected = count * Math.max(0.05, countedRuns / Math.max(1, used));
  const thetaHere = Math.min(Math.max(fit.theta, Math.log(s.lo)), Math.log(s.hi));
  // Averaged over the parameters the data still allow (the estimate, ± one standard error of θ,
  // and slopes 0.1 and 1.9 times the estimate), so that an early, too-steep slope does not pile
  // every seed on one value. The slope's spread is not its standard error: that error comes from
  // the same too-steep fit and is smallest exactly when the seeds already sit in a narrow band
  // where the slope cannot be learned (at slope 1 such searches covered the truth less often).
  const info = expectedInformation(probes, s.target, fit.theta, fit.b);
  const det = info.tt * info.bb - info.tb * info.tb;
  const seT = det > 0 ? Math.sqrt(info.bb / det) : 0;
  const lim = (v: number, m: number) => (Number.isFinite(v) ? Math.min(v, m) : m);
  const spread = [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]];
  const thetas = spread.map(([dt, db]) => ({ theta: fit.theta + dt! * lim(seT, 1), b: fit.b * (1 + 0.9 * db!) }));
  // Ties (equal variance, or none finite) go to the value nearest the estimate, then the smaller.
  const infos = thetas.map((t) => expectedInformation(probes, s.target, t.theta, t.b));
  let best = candidates[0]!;
  let bestVar = Infinity;
  let bestDist = Infinity;
  for (const c of candidates) {
    let v = 0;
    thetas.forEach((t, i) => (v += thetaVarianceWith(infos[i]!, s.target, t.theta, t.b, Math.log(c), expected)));
    const dist = Math.abs(Math.log(c) - thetaHere);
    const same = v === bestVar || Math.abs(v - bestVar) <= 1e-12 * Math.abs(bestVar);
    if ((!same && v < bestVar) || (same && dist < bestDist)) {
      best = c;
      bestVar = v;
      bestDist = dist;
    }
  }
  return { done: false, runs: ask(best, count), answer: now.answer };
}
