/**
 * The dose-response model of a boundary: the convergence rate at a value v of the searched axis is
 *   p(v) = σ(logit(target) + b · (log v − θ)),
 * so θ is exactly the log of the value where the rate equals the target (N50 for target 0.5) and
 * b is the slope in log v. Fitted by maximum *penalized* likelihood with Firth's penalty
 * ½·log det I(a, b) (Jeffreys prior), because the small early designs of a search are often
 * completely separated (every low probe 0/n, every high one n/n), where the plain MLE runs off to
 * an infinite slope; Firth's estimate stays finite (Firth 1993, Biometrika 80:27; Heinze &
 * Schemper 2002, Stat Med 21:2409 for profile penalized-likelihood intervals under separation).
 * The interval for θ is the profile likelihood interval {θ : 2(ℓ*max − max_b ℓ*(θ, b)) ≤ χ²₁(0.95)},
 * which unlike a Wald interval follows the skew of the likelihood and may be open-ended.
 * Pure numerical code: no I/O, no randomness.
 */
import { maximizeProfile, type Profile } from './profile';

/** Observed evidence at one probed value: k of n counted runs converged. */
export interface Probe {
  value: number;
  k: number;
  n: number;
}

/** χ²₁ 0.95 quantile (1.959964²). */
export const CHI2_1_95 = 3.841458820694124;

/** Counted runs at one value: k of n converged, x = log value. */
export interface Group {
  x: number;
  k: number;
  n: number;
}

/** log σ(η), stable for large |η|. */
export function logSigmoid(eta: number): number {
  return eta >= 0 ? -Math.log1p(Math.exp(-eta)) : eta - Math.log1p(Math.exp(eta));
}

function sigmoid(eta: number): number {
  return eta >= 0 ? 1 / (1 + Math.exp(-eta)) : Math.exp(eta) / (1 + Math.exp(eta));
}

export function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/**
 * Penalized log-likelihood at (θ, b). The penalty uses the information of the linear predictor's
 * (intercept, slope) in log v; its determinant equals det I(θ, b) / b², so the penalty is the
 * Jeffreys prior of the ordinary logistic regression, as in Firth's method.
 */
export function penalizedLoglik(groups: readonly Group[], l0: number, theta: number, b: number, penalized = true): number {
  let ll = 0;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  for (const g of groups) {
    const eta = l0 + b * (g.x - theta);
    ll += g.k * logSigmoid(eta) + (g.n - g.k) * logSigmoid(-eta);
    if (penalized) {
      const p = sigmoid(eta);
      const w = g.n * p * (1 - p);
      s0 += w;
      s1 += w * g.x;
      s2 += w * g.x * g.x;
    }
  }
  if (!penalized) return ll;
  const det = s0 * s2 - s1 * s1;
  return ll + 0.5 * Math.log(Math.max(det, 1e-300));
}

/**
 * max over b of ℓ*(θ, b) for a fixed θ: Newton steps on the exact gradient (likelihood plus
 * penalty) with the likelihood's curvature, which is always negative, as the step scale; every
 * step must increase the objective (halved until it does). Warm-started from a nearby θ's slope.
 */
function maximizeSlope(groups: readonly Group[], l0: number, theta: number, b0: number, penalized: boolean, bMax: number): { b: number; f: number } {
  let b = b0;
  let f = penalizedLoglik(groups, l0, theta, b, penalized);
  for (let iter = 0; iter < 60; iter++) {
    let g = 0;
    let h = 0;
    let s0 = 0, s1 = 0, s2 = 0, d0 = 0, d1 = 0, d2 = 0;
    for (const gr of groups) {
      const d = gr.x - theta;
      const p = sigmoid(l0 + b * d);
      const q = p * (1 - p);
      g += (gr.k - gr.n * p) * d;
      h += gr.n * q * d * d;
      if (penalized) {
        const w = gr.n * q;
        const dw = w * (1 - 2 * p) * d;
        s0 += w; s1 += w * gr.x; s2 += w * gr.x * gr.x;
        d0 += dw; d1 += dw * gr.x; d2 += dw * gr.x * gr.x;
      }
    }
    if (penalized) {
      const det = s0 * s2 - s1 * s1;
      if (det > 0) g += (0.5 * (d0 * s2 + s0 * d2 - 2 * s1 * d1)) / det;
    }
    if (Math.abs(g) < 1e-10) break;
    let step = g / Math.max(h, 1e-8);
    const cap = Math.max(1, Math.abs(b));
    if (Math.abs(step) > cap) step = Math.sign(step) * cap;
    let improved = false;
    for (let half = 0; half < 40; half++) {
      const nb = Math.max(-bMax, Math.min(bMax, b + step));
      const nf = penalizedLoglik(groups, l0, theta, nb, penalized);
      if (nf > f) {
        improved = nf - f > 1e-13 * (1 + Math.abs(f));
        b = nb;
        f = nf;
        break;
      }
      step /= 2;
    }
    if (!improved) break;
  }
  return { b, f };
}

export interface Fit {
  /** Maximum penalized log-likelihood. */
  max: number;
  /** log of the boundary estimate (may sit on the edge of the search domain: then unbounded). */
  theta: number;
  /** Slope in log v at the estimate. */
  b: number;
  /** The rate's ceiling (its upper asymptote) at the estimate: 1 in the two-parameter model. */
  top: number;
  /** Profile interval for θ; null where it reaches the edge of the domain (open-ended). */
  ciLow: number | null;
  ciHigh: number | null;
  /** True when θ̂ lies on an edge of the domain (the data push the boundary out of it). */
  thetaAtEdge: boolean;
  /** Profile deviance 2(ℓ*max − P(θ)) as a function, for the design and the tests. */
  deviance(theta: number): number;
  /** The cut on the deviance that gave the interval. */
  cut: number;
}

/** The estimate a deviance cut may depend on (the seed-cluster correction does). */
export interface Estimate {
  theta: number;
  b: number;
  top: number;
}

export interface FitOptions {
  /** The rate that defines the boundary, in (0, 1). */
  target: number;
  /** Domain of θ (log values) searched for the estimate and the interval. */
  thetaMin: number;
  thetaMax: number;
  /**
   * The cut on the profile deviance that bounds the interval: a χ²₁ quantile, or a function of the
   * estimate when the cut depends on it.
   * @default CHI2_1_95
   */
  chi2?: number | ((est: Estimate) => number);
  /** Firth penalty. @default true */
  penalized?: boolean;
}

/** The groups of a fit: probes with counted runs, x = log value. */
export function groupsOf(probes: readonly Probe[]): Group[] {
  return probes.filter((p) => p.n > 0).map((p) => ({ x: Math.log(p.value), k: p.k, n: p.n }));
}

/** The largest slope worth considering: 60 logits across the smallest gap between probed values. */
export function slopeLimit(groups: readonly Group[]): number {
  const xs = [...new Set(groups.map((g) => g.x))].sort((a, b) => a - b);
  let gap = Infinity;
  for (let i = 1; i < xs.length; i++) gap = Math.min(gap, xs[i]! - xs[i - 1]!);
  return 60 / Math.max(gap, 1e-3);
}

/**
 * max over b of the two-parameter ℓ*(θ, b) as a warm-started profile: a cold start takes the best
 * slope of a coarse scan.
 */
export function slopeProfile(groups: readonly Group[], l0: number, penalized: boolean, bMax: number): Profile<number> {
  const bSeeds: number[] = [0];
  for (let u = 1e-3; u < 1; u *= 2.5) bSeeds.push(u * bMax, -u * bMax);
  let lastB: number | undefined;
  return {
    at(theta) {
      let start = lastB;
      if (start === undefined) {
        let bestF = -Infinity;
        for (const s of bSeeds) {
          const f = penalizedLoglik(groups, l0, theta, s, penalized);
          if (f > bestF) {
            bestF = f;
            start = s;
          }
        }
      }
      const r = maximizeSlope(groups, l0, theta, start!, penalized, bMax);
      lastB = r.b;
      return { f: r.f, nuisance: r.b };
    },
    warm(b) {
      lastB = b;
    },
  };
}

/**
 * Firth's penalized maximum likelihood for logit p = a + b·x on grouped binomial data: Newton
 * steps on the modified score U*_r = Σ (k − n p + h (½ − p)) x_r with the leverages h of the
 * weighted hat matrix (Firth 1993, eq. for exponential families in canonical form). Returns θ
 * in the boundary parametrisation a + b x = l0 + b (x − θ).
 */
export function firthFit(groups: readonly Group[], l0: number): { theta: number; b: number } | undefined {
  let a = 0;
  let b = 0;
  for (let iter = 0; iter < 100; iter++) {
    let i00 = 0, i01 = 0, i11 = 0;
    const ps: number[] = [];
    for (const g of groups) {
      const p = sigmoid(a + b * g.x);
      ps.push(p);
      const w = g.n * p * (1 - p);
      i00 += w;
      i01 += w * g.x;
      i11 += w * g.x * g.x;
    }
    const det = i00 * i11 - i01 * i01;
    if (!(det > 0)) return undefined;
    let u0 = 0;
    let u1 = 0;
    for (let j = 0; j < groups.length; j++) {
      const g = groups[j]!;
      const p = ps[j]!;
      const w = g.n * p * (1 - p);
      const h = (w * (i11 - 2 * i01 * g.x + i00 * g.x * g.x)) / det;
      const r = g.k - g.n * p + h * (0.5 - p);
      u0 += r;
      u1 += r * g.x;
    }
    let da = (i11 * u0 - i01 * u1) / det;
    let db = (-i01 * u0 + i00 * u1) / det;
    const size = Math.max(Math.abs(da), Math.abs(db));
    if (size > 5) {
      da *= 5 / size;
      db *= 5 / size;
    }
    a += da;
    b += db;
    if (size < 1e-10) break;
  }
  if (!Number.isFinite(a) || !Number.isFinite(b) || Math.abs(b) < 1e-9) return undefined;
  return { theta: (l0 - a) / b, b };
}

/**
 * Fit the boundary model to probes. Needs counted runs at two or more distinct values
 * (otherwise the slope is not identifiable and undefined is returned).
 */
export function fitBoundary(probes: readonly Probe[], o: FitOptions): Fit | undefined {
  const groups = groupsOf(probes);
  if (new Set(groups.map((g) => g.x)).size < 2) return undefined;
  const l0 = logit(o.target);
  const penalized = o.penalized ?? true;
  // The global maximum: Firth's Newton iteration on (a, b) is fast and exact when the estimate is
  // inside the domain; otherwise (the data push the crossing out, or the slope is ~0) scan θ.
  const direct = penalized ? firthFit(groups, l0) : undefined;
  const chi2 = o.chi2;
  const fit = maximizeProfile(slopeProfile(groups, l0, penalized, slopeLimit(groups)), {
    thetaMin: o.thetaMin,
    thetaMax: o.thetaMax,
    ...(direct && direct.b !== 0 ? { direct: { theta: direct.theta, nuisance: direct.b } } : {}),
    cut: typeof chi2 === 'function' ? (theta, b) => chi2({ theta, b, top: 1 }) : (chi2 ?? CHI2_1_95),
  });
  return { max: fit.max, theta: fit.theta, b: fit.nuisance, top: 1, ciLow: fit.ciLow, ciHigh: fit.ciHigh, thetaAtEdge: fit.thetaAtEdge, deviance: fit.deviance, cut: fit.cut };
}

/**
 * Asymptotic variance of θ̂ (from the expected information in (θ, b)) if `extra` runs were added
 * at log value `x` to probes whose information at (theta, b) is `info` (expectedInformation):
 * used to place the next probe where it shrinks the interval most.
 */
export function thetaVarianceWith(info: Information, target: number, theta: number, b: number, x: number, extra: number): number {
  const p = sigmoid(logit(target) + b * (x - theta));
  const w = extra * p * (1 - p);
  const d = x - theta;
  const itt = info.tt + w * b * b;
  const itb = info.tb - w * b * d;
  const ibb = info.bb + w * d * d;
  const det = itt * ibb - itb * itb;
  return det > 0 ? ibb / det : Infinity;
}

/** Expected information of (θ, b): entries θθ, θb, bb. */
export interface Information {
  tt: number;
  tb: number;
  bb: number;
}

/**
 * Expected information of (θ, b) at the probes, under the model at (theta, b): the standard
 * errors it implies are used by the stopping rule.
 */
export function expectedInformation(probes: readonly Probe[], target: number, theta: number, b: number): Information {
  const l0 = logit(target);
  let tt = 0;
  let tb = 0;
  let bb = 0;
  for (const p of probes) {
    if (p.n <= 0) continue;
    const d = Math.log(p.value) - theta;
    const q = sigmoid(l0 + b * d);
    const w = p.n * q * (1 - q);
    tt += w * b * b;
    tb += -w * b * d;
    bb += w * d * d;
  }
  return { tt, tb, bb };
}

export { sigmoid };
