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

/** Observed evidence at one probed value: k of n counted runs converged. */
export interface Probe {
  value: number;
  k: number;
  n: number;
}

/** χ²₁ 0.95 quantile (1.959964²). */
export const CHI2_1_95 = 3.841458820694124;

interface Group {
  x: number;
  k: number;
  n: number;
}

/** log σ(η), stable for large |η|. */
function logSigmoid(eta: number): number {
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

const GOLDEN = (Math.sqrt(5) - 1) / 2;

/** Maximum of a function on [a, c] by golden-section search (assumes one peak there). */
function golden(f: (x: number) => number, a: number, c: number, iters = 40): { x: number; f: number } {
  let x1 = c - GOLDEN * (c - a);
  let x2 = a + GOLDEN * (c - a);
  let f1 = f(x1);
  let f2 = f(x2);
  for (let i = 0; i < iters; i++) {
    if (f1 >= f2) {
      c = x2;
      x2 = x1;
      f2 = f1;
      x1 = c - GOLDEN * (c - a);
      f1 = f(x1);
    } else {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + GOLDEN * (c - a);
      f2 = f(x2);
    }
  }
  return f1 >= f2 ? { x: x1, f: f1 } : { x: x2, f: f2 };
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
  /** Profile interval for θ; null where it reaches the edge of the domain (open-ended). */
  ciLow: number | null;
  ciHigh: number | null;
  /** True when θ̂ lies on an edge of the domain (the data push the boundary out of it). */
  thetaAtEdge: boolean;
  /** Profile deviance 2(ℓ*max − P(θ)) as a function, for the design and the tests. */
  deviance(theta: number): number;
}

export interface FitOptions {
  /** The rate that defines the boundary, in (0, 1). */
  target: number;
  /** Domain of θ (log values) searched for the estimate and the interval. */
  thetaMin: number;
  thetaMax: number;
  /** Interval level as a χ²₁ quantile. @default CHI2_1_95 */
  chi2?: number;
  /** Firth penalty. @default true */
  penalized?: boolean;
}

/**
 * Firth's penalized maximum likelihood for logit p = a + b·x on grouped binomial data: Newton
 * steps on the modified score U*_r = Σ (k − n p + h (½ − p)) x_r with the leverages h of the
 * weighted hat matrix (Firth 1993, eq. for exponential families in canonical form). Returns θ
 * in the boundary parametrisation a + b x = l0 + b (x − θ).
 */
function firthFit(groups: readonly Group[], l0: number): { theta: number; b: number } | undefined {
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
  const groups: Group[] = probes.filter((p) => p.n > 0).map((p) => ({ x: Math.log(p.value), k: p.k, n: p.n }));
  if (new Set(groups.map((g) => g.x)).size < 2) return undefined;
  const l0 = logit(o.target);
  const chi2 = o.chi2 ?? CHI2_1_95;
  const penalized = o.penalized ?? true;
  // Slopes up to 60 logits across the smallest gap between probes cover every fit that matters;
  // the Firth optimum is far inside this even under complete separation.
  const xs = [...new Set(groups.map((g) => g.x))].sort((a, b) => a - b);
  let gap = Infinity;
  for (let i = 1; i < xs.length; i++) gap = Math.min(gap, xs[i]! - xs[i - 1]!);
  const bMax = 60 / Math.max(gap, 1e-3);
  // Slopes that start the warm chain: the best of a coarse scan at the first θ asked.
  const bSeeds: number[] = [0];
  for (let u = 1e-3; u < 1; u *= 2.5) bSeeds.push(u * bMax, -u * bMax);
  let lastB: number | undefined;
  const profileB = (theta: number): { b: number; f: number } => {
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
    return r;
  };
  const profile = (theta: number) => profileB(theta).f;

  const nGrid = 64;
  const step = (o.thetaMax - o.thetaMin) / nGrid;
  // The global maximum: Firth's Newton iteration on (a, b) is fast and exact when the estimate is
  // inside the domain; otherwise (the data push the crossing out, or the slope is ~0) scan θ.
  let theta: number;
  let max: number;
  const direct = penalized ? firthFit(groups, l0) : undefined;
  if (direct && direct.b !== 0 && Number.isFinite(direct.theta) && direct.theta > o.thetaMin && direct.theta < o.thetaMax) {
    theta = direct.theta;
    lastB = direct.b;
    max = penalizedLoglik(groups, l0, theta, direct.b, true);
  } else {
    const grid: number[] = [];
    for (let i = 0; i <= nGrid; i++) grid.push(o.thetaMin + step * i);
    const vals = grid.map(profile);
    let bi = 0;
    for (let i = 1; i < vals.length; i++) if (vals[i]! > vals[bi]!) bi = i;
    lastB = undefined;
    lastB = profileB(grid[bi]!).b;
    const gold = golden(profile, grid[Math.max(0, bi - 1)]!, grid[Math.min(nGrid, bi + 1)]!);
    theta = gold.f >= vals[bi]! ? gold.x : grid[bi]!;
    max = Math.max(gold.f, vals[bi]!);
  }
  const b = profileB(theta).b;
  const deviance = (t: number) => Math.max(0, 2 * (max - profile(t)));
  const edgeTol = ((o.thetaMax - o.thetaMin) / nGrid) * 1e-3;
  const thetaAtEdge = theta - o.thetaMin < edgeTol || o.thetaMax - theta < edgeTol;
  // Walk out from θ̂ along the grid to the first point beyond the cut, then bisect.
  const crossing = (dir: -1 | 1): number | null => {
    let inside = theta;
    lastB = b;
    for (let t = theta + dir * step; dir < 0 ? t >= o.thetaMin - 1e-12 : t <= o.thetaMax + 1e-12; t += dir * step) {
      if (deviance(t) > chi2) {
        let lo = inside;
        let hi = t;
        for (let i = 0; i < 24; i++) {
          const mid = (lo + hi) / 2;
          if (deviance(mid) > chi2) hi = mid;
          else lo = mid;
        }
        return (lo + hi) / 2;
      }
      inside = t;
    }
    const end = dir < 0 ? o.thetaMin : o.thetaMax;
    return deviance(end) > chi2 ? end : null;
  };
  return { max, theta, b, ciLow: crossing(-1), ciHigh: crossing(1), thetaAtEdge, deviance };
}

/**
 * Asymptotic variance of θ̂ (from the expected information in (θ, b)) if `extra` runs were added
 * at log value `x` to the groups: used to place the next probe where it shrinks the interval most.
 */
export function thetaVarianceWith(probes: readonly Probe[], target: number, theta: number, b: number, x: number, extra: number): number {
  const l0 = logit(target);
  let itt = 0;
  let itb = 0;
  let ibb = 0;
  const add = (gx: number, n: number) => {
    const p = sigmoid(l0 + b * (gx - theta));
    const w = n * p * (1 - p);
    const d = gx - theta;
    itt += w * b * b;
    itb += -w * b * d;
    ibb += w * d * d;
  };
  for (const p of probes) if (p.n > 0) add(Math.log(p.value), p.n);
  add(x, extra);
  const det = itt * ibb - itb * itb;
  return det > 0 ? ibb / det : Infinity;
}

/**
 * Expected information of (θ, b) at the probes, under the model at (theta, b): the standard
 * errors it implies are used by the stopping rule.
 */
export function expectedInformation(probes: readonly Probe[], target: number, theta: number, b: number): { tt: number; tb: number; bb: number } {
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
