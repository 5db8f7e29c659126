/**
 * A profile likelihood over the boundary θ and its interval, whatever the nuisance parameters
 * (a slope; a slope and a ceiling): the estimate maximises the profile, the interval is
 * {θ : 2(max − P(θ)) ≤ cut}, which unlike a Wald interval follows the skew of the likelihood and
 * may be open-ended. Pure numerical code.
 */

/** A profile over θ: the maximum over the nuisance parameters at θ, warm-started. */
export interface Profile<N> {
  /** max over the nuisance at θ, starting from the last call's nuisance (or cold, after `warm(undefined)`). */
  at(theta: number): { f: number; nuisance: N };
  /** Start the next call from `nuisance`; undefined for a cold start. */
  warm(nuisance: N | undefined): void;
}

export interface ProfileFit<N> {
  /** Maximum of the profile. */
  max: number;
  theta: number;
  /** The nuisance parameters at the estimate. */
  nuisance: N;
  /** True when θ̂ lies on an edge of the domain (the data push the boundary out of it). */
  thetaAtEdge: boolean;
  /** Interval ends; null where the interval reaches the edge of the domain (open-ended). */
  ciLow: number | null;
  ciHigh: number | null;
  /** The cut on the deviance that gave the interval. */
  cut: number;
  /** Profile deviance 2(max − P(θ)). */
  deviance(theta: number): number;
}

export interface ProfileOptions<N> {
  thetaMin: number;
  thetaMax: number;
  /** An estimate known to maximise the profile (e.g. from a direct Newton fit), else the domain is scanned. */
  direct?: { theta: number; nuisance: N };
  /** Points of the scan of the domain; also the step (domain / points) of the walk to the interval ends. @default 64 */
  points?: number;
  /** The cut on the deviance, or a function of the estimate. */
  cut: number | ((theta: number, nuisance: N) => number);
}

/**
 * The root of f between a and c, where f(a) ≤ 0 < f(c): regula falsi with the Illinois
 * modification (the end that stays twice has its value halved), which keeps the bracket and
 * converges superlinearly; a profile deviance is smooth, so this takes a few evaluations where
 * bisection to the same precision takes 24.
 */
function root(f: (x: number) => number, a: number, fa: number, c: number, fc: number): number {
  let side = 0;
  let x = (a + c) / 2;
  for (let i = 0; i < 60 && Math.abs(c - a) > 1e-10; i++) {
    x = fa === fc ? (a + c) / 2 : c - (fc * (c - a)) / (fc - fa);
    const fx = f(x);
    if (fx > 0) {
      c = x;
      fc = fx;
      if (side === -1) fa /= 2;
      side = -1;
    } else {
      a = x;
      fa = fx;
      if (side === 1) fc /= 2;
      side = 1;
    }
    if (Math.abs(fx) < 1e-12) break;
  }
  return x;
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

export function maximizeProfile<N>(p: Profile<N>, o: ProfileOptions<N>): ProfileFit<N> {
  const nGrid = o.points ?? 64;
  const step = (o.thetaMax - o.thetaMin) / nGrid;
  const profile = (theta: number) => p.at(theta).f;
  let theta: number;
  let max: number;
  if (o.direct && Number.isFinite(o.direct.theta) && o.direct.theta > o.thetaMin && o.direct.theta < o.thetaMax) {
    theta = o.direct.theta;
    p.warm(o.direct.nuisance);
    max = profile(theta);
  } else {
    const grid: number[] = [];
    for (let i = 0; i <= nGrid; i++) grid.push(o.thetaMin + step * i);
    const vals = grid.map(profile);
    let bi = 0;
    for (let i = 1; i < vals.length; i++) if (vals[i]! > vals[bi]!) bi = i;
    p.warm(undefined);
    p.at(grid[bi]!);
    const gold = golden(profile, grid[Math.max(0, bi - 1)]!, grid[Math.min(nGrid, bi + 1)]!);
    theta = gold.f >= vals[bi]! ? gold.x : grid[bi]!;
    max = Math.max(gold.f, vals[bi]!);
  }
  const nuisance = p.at(theta).nuisance;
  const deviance = (t: number) => Math.max(0, 2 * (max - profile(t)));
  const edgeTol = step * 1e-3;
  const thetaAtEdge = theta - o.thetaMin < edgeTol || o.thetaMax - theta < edgeTol;
  // Walk out from θ̂ along the grid to the first point beyond the cut, then find the crossing.
  const crossing = (dir: -1 | 1, cut: number): number | null => {
    let inside = theta;
    p.warm(nuisance);
    for (let t = theta + dir * step; dir < 0 ? t >= o.thetaMin - 1e-12 : t <= o.thetaMax + 1e-12; t += dir * step) {
      const fOut = deviance(t) - cut;
      if (fOut > 0) return root((u) => deviance(u) - cut, inside, deviance(inside) - cut, t, fOut);
      inside = t;
    }
    const end = dir < 0 ? o.thetaMin : o.thetaMax;
    return deviance(end) > cut ? end : null;
  };
  const cut = typeof o.cut === 'function' ? o.cut(theta, nuisance) : o.cut;
  return { max, theta, nuisance, thetaAtEdge, ciLow: crossing(-1, cut), ciHigh: crossing(1, cut), cut, deviance };
}
