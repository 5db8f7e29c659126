/**
 * Do two groups of runs converge at different rates? Every cell of a sweep uses the same seeds,
 * and a seed fixes both the initial weights and the data order, so runs of two groups are usually
 * matched: run (seed s, settings x) of A against run (seed s, settings x) of B, where x are all
 * settings except those that define the groups. Matched runs are compared pair by pair (exact
 * McNemar test, Newcombe's paired interval); groups with no seed in common by Fisher's exact test.
 * Matching that is partial or not one-to-one is refused (src/report/pairing.ts).
 * When the groups pool several cells, one seed gives several pairs: then the seed is the unit
 * (src/report/seed-unit.ts), and the pooled cells are checked for an effect that differs between
 * them (src/report/heterogeneity.ts).
 */
import { countOf, inN } from '../outcome';
import { cellKey, compareParamValues, tallyRuns } from './cells';
import { formatP } from './format';
import { discordantSplitTest, type SplitTest } from './heterogeneity';
import { matchRuns } from './pairing';
import { pairDesignEffect, signFlipTest, type SignedPair } from './seed-unit';
import { fisherExact, mcnemarExact, newcombeIndependent, newcombePaired, wilson } from './stats';
import type { ParamValue, RunRow } from './types';

export interface Group { label: string; runs: readonly RunRow[] }

export interface GroupResult { label: string; k: number; n: number; rate: number | null; ci_low: number; ci_high: number }

/**
 * mcnemar_exact: matched pairs, one per seed; sign_flip_seed: matched pairs, some seed in several
 * (the seed is the unit); fisher_exact: the groups share no seed.
 */
export type CompareTest = 'mcnemar_exact' | 'sign_flip_seed' | 'fisher_exact';

/**
 * Whether the paired effect is the same in every stratum of the settings a comparison pools over
 * (the discordant pairs' split, src/report/heterogeneity.ts).
 */
export interface Heterogeneity extends SplitTest {
  /** The settings whose values are the strata. */
  over: string[];
  /** Per stratum, its discordant pairs. */
  strata: { label: string; discordant_ab: number; discordant_ba: number }[];
  /** A seed gives several pairs within one stratum: the test takes pairs as independent and may understate p. */
  seeds_repeat_within: boolean;
}

/** The JSON of `compare --json`; field names are part of the CLI's interface. */
export interface Comparison {
  /** mcnemar_exact or sign_flip_seed when the runs are matched pair by pair, fisher_exact when the groups share no seed. */
  test: CompareTest;
  a: GroupResult;
  b: GroupResult;
  /** Matched pairs with both runs finished (null for fisher_exact). */
  pairs: number | null;
  /** Pairs where A converged and B did not (null for fisher_exact). */
  discordant_ab: number | null;
  /** Pairs where B converged and A did not (null for fisher_exact). */
  discordant_ba: number | null;
  /** Distinct seeds among the pairs (null for fisher_exact). */
  seeds: number | null;
  /** Seeds whose pairs favour one side on balance: the sample of sign_flip_seed (null for fisher_exact). */
  seeds_discordant: number | null;
  /** Variance inflation of the paired difference from seeds in several pairs; the interval is widened by it (1: none; null for fisher_exact). */
  design_effect: number | null;
  /** Two-sided p-value of `test`; null when either group has no finished run. */
  p_value: number | null;
  /** rate_b − rate_a, or null when either group has no finished run. */
  difference: number | null;
  /** 95% interval for the difference: Newcombe's paired method 10 (mcnemar_exact) or hybrid score (fisher_exact). */
  difference_ci_low: number | null;
  difference_ci_high: number | null;
  /** What a pair shares: "seed" and the settings not named by the groups (null for fisher_exact). */
  matched_on: string[] | null;
  /** The settings that tell A from B (the names in --a/--b, or what differs between two databases). */
  differing: string[];
  /** Whether the effect differs between the cells pooled over; null when nothing is pooled or the groups are unpaired. */
  heterogeneity: Heterogeneity | null;
  /** Why the numbers should not be read as an answer, or null. */
  warning: string | null;
}

/** Below this, p is "< 0.05": the level every verdict of compare and report uses. */
export const ALPHA = 0.05;

/** Below this many finished seeds per group, Fisher's test can barely reach p < 0.05 at all. */
export const MIN_SEEDS_PER_GROUP = 5;
/** With fewer discordant pairs, the exact McNemar test cannot reach p < 0.05: 2·(1/2)^5 = 0.0625. */
export const MIN_DISCORDANT_PAIRS = 6;

function groupResult(label: string, k: number, n: number): GroupResult {
  const ci = wilson(k, n);
  return { label, k, n, rate: n > 0 ? k / n : null, ci_low: ci.lo, ci_high: ci.hi };
}

function unfinishedWarning(groups: readonly Group[]): string | null {
  const pending = groups
    .map((g) => ({ g, u: g.runs.filter((r) => r.status === 'pending' || r.status === 'running').length }))
    .filter((x) => x.u > 0);
  if (pending.length === 0) return null;
  return `${pending.map(({ g, u }) => `"${g.label}" has ${u} unfinished run${u === 1 ? '' : 's'}`).join(', ')}; the rates may still change`;
}

function compareUnpaired(a: Group, b: Group, differing: readonly string[], warnings: string[], alive: boolean): Comparison {
  // Among runs alive at init (--alive), or among all runs that finished (failed and timed-out
  // runs are infrastructure and never in n).
  const count = (g: Group): { k: number; n: number } => {
    const t = tallyRuns(g.runs);
    return alive ? { k: t.kAlive, n: t.alive } : { k: t.k, n: t.n };
  };
  const ta = count(a);
  const tb = count(b);
  const ga = groupResult(a.label, ta.k, ta.n);
  const gb = groupResult(b.label, tb.k, tb.n);
  const empty = [ga, gb].filter((g) => g.n === 0);
  if (empty.length > 0) {
    warnings.unshift(`nothing to compare: ${empty.map((g) => `"${g.label}"`).join(' and ')} ${empty.length === 1 ? 'has' : 'have'} no finished runs`);
  } else {
    const few = [ga, gb].filter((g) => g.n < MIN_SEEDS_PER_GROUP);
    if (few.length > 0) {
      // With 4 seeds a side even 0/4 vs 4/4 gives p = 0.029 only; with 3, 0/3 vs 3/3 gives p = 0.1.
      warnings.unshift(
        `too few seeds to tell: ${few.map((g) => `"${g.label}" has n=${g.n}`).join(', ')}; ` +
          `run at least ${MIN_SEEDS_PER_GROUP} seeds per group (10 or more to detect anything but a large difference)`,
      );
    }
  }
  const both = ga.n > 0 && gb.n > 0;
  const ci = both ? newcombeIndependent(tb.k, tb.n, ta.k, ta.n) : null;
  return {
    test: 'fisher_exact', a: ga, b: gb, pairs: null, discordant_ab: null, discordant_ba: null,
    p_value: both ? fisherExact(ta.k, ta.n - ta.k, tb.k, tb.n - tb.k) : null,
    difference: ci ? ci.difference : null, difference_ci_low: ci ? ci.lo : null, difference_ci_high: ci ? ci.hi : null,
    seeds: null, seeds_discordant: null, design_effect: null,
    matched_on: null, differing: [...differing], heterogeneity: null,
    warning: warnings.length > 0 ? warnings.join('; ') : null,
  };
}

/**
 * Compare two groups of runs. `differing` names the settings that define the groups (the names
 * in --a/--b, or the settings that differ between two databases); runs are matched on the seed
 * and every other setting. Matched: exact McNemar and Newcombe's paired interval over the pairs
 * whose runs both finished. No seed shared: Fisher's exact test and Newcombe's hybrid interval.
 * @throws ConvergeError `compare.ambiguous` when only some runs match, or a seed would count twice
 */
export interface CompareOptions {
  /**
   * Rates among runs alive at initialisation: unpaired, the alive runs of each group; paired, the
   * pairs whose two runs were both alive (a seed dead at init on either side says nothing about
   * the setting). @default false
   */
  alive?: boolean;
  /**
   * The settings whose values are the strata of the heterogeneity test (`--by`).
   * @default the matched settings that take more than one value among the pairs
   */
  strataOver?: readonly string[];
}

/** A counted pair: its runs and its sign (+1 only B converged, −1 only A, 0 both or neither). */
interface CountedPair extends SignedPair { ra: RunRow }

/**
 * Whether the counted pairs split alike across the strata of `over`; null when `over` is empty or
 * the pairs fall in one stratum.
 */
function heterogeneityOf(pairs: readonly CountedPair[], over: readonly string[]): Heterogeneity | null {
  if (over.length === 0) return null;
  const strata = new Map<string, { params: RunRow['params']; ab: number; ba: number; seeds: Set<number>; repeat: boolean }>();
  for (const p of pairs) {
    const key = cellKey(over, p.ra.params);
    let s = strata.get(key);
    if (!s) strata.set(key, (s = { params: p.ra.params, ab: 0, ba: 0, seeds: new Set(), repeat: false }));
    if (p.x < 0) s.ab++;
    if (p.x > 0) s.ba++;
    if (s.seeds.has(p.seed)) s.repeat = true;
    s.seeds.add(p.seed);
  }
  if (strata.size < 2) return null;
  // In value order, as the strata of --by are listed.
  const list = [...strata.entries()].sort(([, x], [, y]) => over.reduce((c, n) => c || compareParamValues(x.params[n], y.params[n]), 0));
  return {
    ...discordantSplitTest(list.map(([, s]) => s)),
    over: [...over],
    strata: list.map(([label, s]) => ({ label, discordant_ab: s.ab, discordant_ba: s.ba })),
    seeds_repeat_within: list.some(([, s]) => s.repeat),
  };
}

/** The warning for strata that disagree, or null. */
function disagreement(h: Heterogeneity | null, named: boolean): string | null {
  if (h === null || h.p_value === null || h.p_value >= ALPHA) return null;
  const counts = h.strata.map((s) => `${s.label}: ${s.discordant_ab} vs ${s.discordant_ba}`).join(', ');
  return (
    `the strata disagree: the effect differs between levels of ${h.over.join(', ')} (pairs converged only in A vs only in B, ${counts}; ` +
    `heterogeneity p = ${formatP(h.p_value)}), so the pooled difference averages effects that are not the same` +
    (named ? '' : `; read them apart with ${h.over.map((o) => `--by ${o}`).join(' ')}`)
  );
}

export function compareGroups(a: Group, b: Group, differing: readonly string[] = [], options: CompareOptions = {}): Comparison {
  const alive = options.alive ?? false;
  const warnings: string[] = [];
  const unfinished = unfinishedWarning([a, b]);
  if (unfinished) warnings.push(unfinished);
  const matching = matchRuns(a, b, differing);
  if (matching === null) return compareUnpaired(a, b, differing, warnings, alive);

  // A pair counts when both its runs count in n (the outcome module's countOf: failed and
  // timed-out runs are infrastructure, not outcomes of the setting, so their pairs are left out;
  // with --alive, so are pairs with a run not alive at init).
  const among = alive ? 'alive' : 'all';
  let both = 0, onlyA = 0, onlyB = 0, neither = 0;
  const counted: CountedPair[] = [];
  for (const [ra, rb] of matching.pairs) {
    const ka = countOf(ra, among);
    const kb = countOf(rb, among);
    if (!inN(ka) || !inN(kb)) continue;
    const ca = ka === 'converged';
    const cb = kb === 'converged';
    if (ca && cb) both++;
    else if (ca) onlyA++;
    else if (cb) onlyB++;
    else neither++;
    counted.push({ ra, seed: ra.seed, x: ca === cb ? 0 : cb ? 1 : -1 });
  }
  const pairs = both + onlyA + onlyB + neither;
  const net = new Map<number, number>();
  for (const p of counted) net.set(p.seed, (net.get(p.seed) ?? 0) + p.x);
  // A seed in several pairs (cells pooled): the seed, not the pair, is the independent unit.
  const bySeed = net.size < pairs;
  const seedsDiscordant = [...net.values()].filter((d) => d !== 0).length;
  const ga = groupResult(a.label, both + onlyA, pairs);
  const gb = groupResult(b.label, both + onlyB, pairs);
  if (pairs === 0) {
    warnings.unshift(`nothing to compare: no pair has both runs finished${alive ? ' and alive at init' : ''}`);
  } else if (onlyA + onlyB === 0) {
    // Every pair agrees: the text says so in its own line; "more seeds may tell" would read as if they had differed.
  } else if (bySeed && seedsDiscordant < MIN_DISCORDANT_PAIRS) {
    warnings.unshift(
      `only ${seedsDiscordant} seed${seedsDiscordant === 1 ? '' : 's'} favour one side on balance; ` +
        `the sign-flip test cannot reach p < 0.05 with fewer than ${MIN_DISCORDANT_PAIRS}: more seeds may tell`,
    );
  } else if (onlyA + onlyB < MIN_DISCORDANT_PAIRS) {
    warnings.unshift(
      `only ${onlyA + onlyB} discordant pair${onlyA + onlyB === 1 ? '' : 's'} (seeds where exactly one side converged); ` +
        `the exact McNemar test cannot reach p < 0.05 with fewer than ${MIN_DISCORDANT_PAIRS}: more seeds may tell`,
    );
  }
  const over = options.strataOver ?? matching.matchedOn.filter((n) => n !== 'seed' && new Set(counted.map((p) => JSON.stringify(p.ra.params[n] ?? null))).size > 1);
  const heterogeneity = heterogeneityOf(counted, over);
  const disagree = disagreement(heterogeneity, options.strataOver !== undefined);
  if (disagree) warnings.push(disagree);
  const designEffect = bySeed ? pairDesignEffect(counted) : 1;
  const ci = pairs > 0 ? newcombePaired(both, onlyB, onlyA, neither, undefined, designEffect) : null;
  return {
    test: bySeed ? 'sign_flip_seed' : 'mcnemar_exact', a: ga, b: gb, pairs, discordant_ab: onlyA, discordant_ba: onlyB,
    seeds: net.size, seeds_discordant: seedsDiscordant, design_effect: designEffect,
    p_value: pairs === 0 ? null : bySeed ? signFlipTest([...net.values()]) : mcnemarExact(onlyA, onlyB),
    difference: ci ? ci.difference : null, difference_ci_low: ci ? ci.lo : null, difference_ci_high: ci ? ci.hi : null,
    matched_on: matching.matchedOn, differing: [...differing], heterogeneity,
    warning: warnings.length > 0 ? warnings.join('; ') : null,
  };
}

/** A setting whose values differ between two sets of runs (e.g. two databases). */
export interface SettingDifference { name: string; a: ParamValue[]; b: ParamValue[] }

/** The settings whose sets of values differ between A and B, e.g. kernel_initializer in two databases' sweeps. */
export function differingSettings(a: readonly RunRow[], b: readonly RunRow[]): SettingDifference[] {
  const names = [...new Set([...a, ...b].flatMap((r) => Object.keys(r.params)))].sort();
  const values = (runs: readonly RunRow[], n: string): ParamValue[] => {
    const seen = new Map<string, ParamValue>();
    for (const r of runs) if (n in r.params) seen.set(JSON.stringify(r.params[n]), r.params[n]!);
    return [...seen.entries()].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([, v]) => v);
  };
  const out: SettingDifference[] = [];
  for (const n of names) {
    const va = values(a, n);
    const vb = values(b, n);
    if (JSON.stringify(va) !== JSON.stringify(vb)) out.push({ name: n, a: va, b: vb });
  }
  return out;
}
