/**
 * The boundary search as a deterministic state machine over observed runs: given every run
 * finished so far (value, repeat, outcome), say which runs (value, repeat) to train next, or that
 * the search is done and with what answer. Nothing is remembered between calls, so a search
 * killed at any point resumes exactly: the database holds the observations, and the next step is
 * a function of them. The same code drives a real search and the in-process synthetic one of the
 * validity test.
 */
import { expectedInformation, fitBoundary, thetaVarianceWith, type Fit, type Probe } from './logistic';

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
}

/** One finished run of the search. `repeat` r uses seed spec.seed + r. */
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
  /** Fitted slope of logit(rate) per unit of log value. */
  slope: number | null;
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
    if (o.outcome === 'failed' || (among === 'alive' && !o.alive)) continue;
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

export function fitSearch(s: SearchSettings, probes: readonly Probe[]): Fit | undefined {
  const d = domain(s);
  return fitBoundary(probes, { target: s.target, thetaMin: d.min, thetaMax: d.max });
}

function answerFrom(s: SearchSettings, fit: Fit | undefined, probes: Probe[], runs: number, final: boolean): { answer: BoundaryAnswer; settled: boolean } {
  const base = { runs, probes, slope: fit ? fit.b : null };
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

/** The opening design: `initialProbes` values spread evenly in log value, `batch` seeds each (within budget). */
function initialDesign(s: SearchSettings): RunRequest[] {
  const candidates = candidateValues(s.lo, s.hi);
  const p0 = Math.min(s.initialProbes ?? 5, candidates.length);
  const each = Math.max(1, Math.min(s.batch, Math.floor(s.budget / p0)));
  const picks = [...new Set(Array.from({ length: p0 }, (_, i) => candidates[Math.round((i * (candidates.length - 1)) / Math.max(1, p0 - 1))]!))];
  return picks.flatMap((value) => Array.from({ length: each }, (_, repeat) => ({ value, repeat }))).slice(0, s.budget);
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
  const probes = tallyProbes(earlier, s.among);
  return answerFrom(s, fitSearch(s, probes), probes, prev, false).answer.stop === 'precision';
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
  for (const o of obs) repeatsAt.set(o.value, Math.max(repeatsAt.get(o.value) ?? 0, o.repeat + 1));
  const ask = (value: number, count: number): RunRequest[] => {
    const first = repeatsAt.get(value) ?? 0;
    return Array.from({ length: count }, (_, i) => ({ value, repeat: first + i }));
  };
  const probes = tallyProbes(obs, s.among);
  const remaining = s.budget - used;
  if (used === 0) return { done: false, runs: initialDesign(s), answer: answerFrom(s, undefined, probes, 0, false).answer };
  const fit = fitSearch(s, probes);
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
  const counted = probes.reduce((a, p) => a + p.n, 0);
  const expected = count * Math.max(0.05, counted / Math.max(1, used));
  const thetaHere = Math.min(Math.max(fit.theta, Math.log(s.lo)), Math.log(s.hi));
  // Averaged over the parameters the data still allow (estimate, ± one standard error of θ and
  // of the slope), so that an early, too-steep slope does not pile every seed on one value.
  const info = expectedInformation(probes, s.target, fit.theta, fit.b);
  const det = info.tt * info.bb - info.tb * info.tb;
  const seT = det > 0 ? Math.sqrt(info.bb / det) : 0;
  const seB = det > 0 ? Math.sqrt(info.tt / det) : 0;
  const lim = (v: number, m: number) => (Number.isFinite(v) ? Math.min(v, m) : m);
  const spread = [[0, 0], [1, 0], [-1, 0], [0, 1], [0, -1]];
  const thetas = spread.map(([dt, db]) => ({ theta: fit.theta + dt! * lim(seT, 1), b: fit.b + db! * lim(seB, Math.abs(fit.b) * 0.75) }));
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
