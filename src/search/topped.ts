/**
 * The boundary model with a ceiling: among the runs counted, the rate may top out below 1 (real
 * alive seeds at L=200 reach 13/16 at N=201, issue 19), so
 *   p(v) = top · σ(logit(target/top) + b · (log v − θ)),   top in (target, 1],
 * where θ is still exactly the log of the value where the rate equals the target and top = 1 is
 * the two-parameter model of logistic.ts. The penalty is that model's Firth penalty with the
 * ceiling held fixed: ½ log det of the information of the linear predictor's intercept and slope
 * at the given top, which is exactly Firth's at top = 1. The interval is the profile interval of
 * θ over the slope and the ceiling. Pure numerical code.
 */
import { CHI2_1_95, firthFit, groupsOf, logit, logSigmoid, sigmoid, slopeLimit, slopeProfile, type Estimate, type Fit, type FitOptions, type Group, type Probe } from './logistic';
import { maximizeProfile, type Profile } from './profile';

/** The lowest ceiling considered: a ceiling at the target itself puts the crossing at infinity. */
function lowestTop(target: number): number {
  return target + 0.02 * (1 - target);
}

/** Penalized log-likelihood of the ceiling model at (θ, b, top). */
export function toppedLoglik(groups: readonly Group[], target: number, theta: number, b: number, top: number, penalized = true): number {
  const c = logit(target / top);
  const logTop = Math.log(top);
  let ll = 0;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  for (const g of groups) {
    const eta = c + b * (g.x - theta);
    const s = sigmoid(eta);
    const sm = sigmoid(-eta);
    // 1 − top·σ(η) = σ(−η) + (1 − top) σ(η), without cancellation when σ(η) is near 1.
    const miss = sm + (1 - top) * s;
    ll += g.k * (logTop + logSigmoid(eta)) + (g.n - g.k) * Math.log(miss);
    if (penalized) {
      // n (∂p/∂η)² / (p (1 − p)) with ∂p/∂η = top σ (1 − σ).
      const w = (g.n * top * s * sm * sm) / miss;
      s0 += w;
      s1 += w * g.x;
      s2 += w * g.x * g.x;
    }
  }
  if (!penalized) return ll;
  return ll + 0.5 * Math.log(Math.max(s0 * s2 - s1 * s1, 1e-300));
}

interface Nuisance {
  b: number;
  top: number;
}

/**
 * Gradient in (b, top) of the penalized log-likelihood at (θ, b, top), exact (likelihood plus
 * penalty), and the expected information of (b, top) as the curvature for the step.
 */
function slopeTopScore(groups: readonly Group[], target: number, theta: number, b: number, top: number, penalized: boolean): { gb: number; gt: number; ibb: number; ibt: number; itt: number } {
  const dc = -1 / (top - target); // d logit(target/top) / d top
  const c = logit(target / top);
  let gb = 0, gt = 0, ibb = 0, ibt = 0, itt = 0;
  // Moments Σ w (1, x, x²) and Σ ∂w (1, x, x²) for b and for top: the penalty's gradient.
  let s0 = 0, s1 = 0, s2 = 0, b0 = 0, b1 = 0, b2 = 0, t0 = 0, t1 = 0, t2 = 0;
  for (const g of groups) {
    const d = g.x - theta;
    const eta = c + b * d;
    const s = sigmoid(eta);
    const sm = sigmoid(-eta);
    const miss = sm + (1 - top) * s;
    const p = top * s;
    const dpdEta = top * s * sm;
    const pb = dpdEta * d;
    const pt = s + dpdEta * dc;
    const v = p * miss;
    const r = (g.k - g.n * p) / v;
    gb += r * pb;
    gt += r * pt;
    ibb += (g.n * pb * pb) / v;
    ibt += (g.n * pb * pt) / v;
    itt += (g.n * pt * pt) / v;
    if (penalized) {
      // w = n (∂p/∂η)² / (p (1 − p)) = n top s sm² / miss, and its derivatives in η and top.
      const w = (g.n * top * s * sm * sm) / miss;
      const dwEta = g.n * top * s * sm * sm * ((sm - 2 * s) / miss + (top * s * sm) / (miss * miss));
      const dwTop = (g.n * s * sm * sm) / (miss * miss);
      const dwb = dwEta * d;
      const dwt = dwEta * dc + dwTop;
      const x2 = g.x * g.x;
      s0 += w;
      s1 += w * g.x;
      s2 += w * x2;
      b0 += dwb;
      b1 += dwb * g.x;
      b2 += dwb * x2;
      t0 += dwt;
      t1 += dwt * g.x;
      t2 += dwt * x2;
    }
  }
  if (penalized) {
    // ∂ ½ log det S = ½ Σ (∂w) z' S⁻¹ z with z = (1, x), S = Σ w z z'.
    const det = s0 * s2 - s1 * s1;
    if (det > 0) {
      gb += (0.5 * (s2 * b0 - 2 * s1 * b1 + s0 * b2)) / det;
      gt += (0.5 * (s2 * t0 - 2 * s1 * t1 + s0 * t2)) / det;
    }
  }
  return { gb, gt, ibb, ibt, itt };
}

/**
 * max over (b, top) of the penalized log-likelihood at a fixed θ: scoring steps (the exact
 * gradient, the expected information as curvature), projected onto lowestTop ≤ top ≤ 1 (at a
 * bound with the gradient pointing out, a step in b alone); every step must increase the
 * objective, halved until it does.
 */
function maximizeNuisance(groups: readonly Group[], target: number, theta: number, start: Nuisance, bMax: number, topMin: number, penalized: boolean): Nuisance & { f: number } {
  const f = (b: number, top: number) => toppedLoglik(groups, target, theta, b, top, penalized);
  let { b, top } = start;
  top = Math.min(1, Math.max(topMin, top));
  let fv = f(b, top);
  for (let iter = 0; iter < 100; iter++) {
    const { gb, gt, ibb, ibt, itt } = slopeTopScore(groups, target, theta, b, top, penalized);
    const atBound = (top >= 1 && gt > 0) || (top <= topMin && gt < 0);
    let db: number;
    let dt: number;
    const det = ibb * itt - ibt * ibt;
    if (atBound || !(det > 1e-12 * ibb * itt)) {
      db = gb / Math.max(ibb, 1e-8);
      dt = atBound ? 0 : gt / Math.max(itt, 1e-8);
    } else {
      db = (itt * gb - ibt * gt) / det;
      dt = (-ibt * gb + ibb * gt) / det;
    }
    const cap = Math.max(1, Math.abs(b));
    if (Math.abs(db) > cap) {
      dt *= cap / Math.abs(db);
      db = Math.sign(db) * cap;
    }
    if (Math.abs(dt) > 0.2) {
      db *= 0.2 / Math.abs(dt);
      dt = Math.sign(dt) * 0.2;
    }
    let improved = false;
    for (let half = 0; half < 40; half++) {
      const nb = Math.max(-bMax, Math.min(bMax, b + db));
      const nt = Math.min(1, Math.max(topMin, top + dt));
      const nf = f(nb, nt);
      if (nf > fv) {
        improved = nf - fv > 1e-13 * (1 + Math.abs(fv));
        b = nb;
        top = nt;
        fv = nf;
        break;
      }
      db /= 2;
      dt /= 2;
    }
    if (!improved) break;
  }
  return { b, top, f: fv };
}

/**
 * The maximum of a profile by Newton steps on its central differences, from the two-parameter
 * estimate (the ceiling moves the crossing little where the rate rises through the target); every
 * step must increase the profile. Undefined when it does not settle at a concave maximum inside
 * the domain, and the caller scans the domain instead.
 */
function profileNewton<N>(p: Profile<N>, start: number | undefined, o: { thetaMin: number; thetaMax: number }): { theta: number; nuisance: N } | undefined {
  if (start === undefined || !(start > o.thetaMin && start < o.thetaMax)) return undefined;
  const h = 1e-3;
  let theta = start;
  p.warm(undefined);
  let here = p.at(theta);
  for (let iter = 0; iter < 30; iter++) {
    const up = p.at(theta + h).f;
    const down = p.at(theta - h).f;
    const g = (up - down) / (2 * h);
    const c = (up - 2 * here.f + down) / (h * h);
    if (!(c < 0)) return undefined;
    const full = Math.max(-0.5, Math.min(0.5, -g / c));
    // Settled when the predicted gain is below the precision of the inner maximisation.
    if (Math.abs(g * full) < 1e-9) return { theta, nuisance: p.at(theta).nuisance };
    let step = full;
    let moved = false;
    for (let half = 0; half < 20 && !moved; half++, step /= 2) {
      const next = p.at(theta + step);
      if (next.f > here.f) {
        theta += step;
        here = next;
        moved = true;
      }
    }
    if (!moved) return Math.abs(g * full) < 1e-7 ? { theta, nuisance: p.at(theta).nuisance } : undefined;
    if (!(theta > o.thetaMin && theta < o.thetaMax)) return undefined;
  }
  return undefined;
}

/**
 * Fit the boundary model with a ceiling to probes. Needs counted runs at two or more distinct
 * values (otherwise undefined).
 */
export function fitToppedBoundary(probes: readonly Probe[], o: FitOptions): Fit | undefined {
  const groups = groupsOf(probes);
  if (new Set(groups.map((g) => g.x)).size < 2) return undefined;
  const penalized = o.penalized ?? true;
  const bMax = slopeLimit(groups);
  const topMin = lowestTop(o.target);
  const l0 = logit(o.target);
  // A cold start takes the two-parameter fit's slope at θ, with no ceiling.
  const noCeiling = slopeProfile(groups, l0, penalized, bMax);
  let last: Nuisance | undefined;
  const profile: Profile<Nuisance> = {
    at(theta) {
      let start = last;
      if (!start) {
        noCeiling.warm(undefined);
        start = { b: noCeiling.at(theta).nuisance, top: 1 };
      }
      const r = maximizeNuisance(groups, o.target, theta, start, bMax, topMin, penalized);
      last = { b: r.b, top: r.top };
      return { f: r.f, nuisance: last };
    },
    warm(n) {
      last = n;
    },
  };
  const chi2 = o.chi2;
  const direct = penalized ? profileNewton(profile, firthFit(groups, l0)?.theta, o) : undefined;
  const fit = maximizeProfile(profile, {
    thetaMin: o.thetaMin,
    thetaMax: o.thetaMax,
    points: 32,
    ...(direct ? { direct } : {}),
    cut: typeof chi2 === 'function' ? (theta, n) => chi2({ theta, b: n.b, top: n.top } satisfies Estimate) : (chi2 ?? CHI2_1_95),
  });
  return { max: fit.max, theta: fit.theta, b: fit.nuisance.b, top: fit.nuisance.top, ciLow: fit.ciLow, ciHigh: fit.ciHigh, thetaAtEdge: fit.thetaAtEdge, deviance: fit.deviance, cut: fit.cut };
}
