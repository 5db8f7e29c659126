/**
 * Validity and efficiency of `converge search` in simulation (issue 19, items 3 and 4), against
 * the synthetic outcome source of test/search/synthetic.ts: no training, a minute or two per scenario.
 * `npm run bench -- --only search` prints two tables (`--searches N` sets the simulated searches
 * per scenario, default 200; `--json` one object per line):
 *
 * - coverage: how often the 95 % interval contains the true boundary, for the search as it is
 *   (fresh seeds, ceiling model, seed-cluster interval), without the ceiling, with the method
 *   of before issue 19 (seed r at every value, no ceiling, runs taken as independent; the
 *   design's wider slope spread is today's), and with shared seeds but the seed-cluster interval;
 * - efficiency: the runs a plain 10-value log grid needs for the search's median relative
 *   interval width, with a fresh seed per run and as a sweep trains it (seed r at every value),
 *   and the coverage of each at that size.
 *
 * An open-ended interval counts as covering when the truth lies on its open side, and as
 * infinitely wide. The Monte Carlo error of a coverage c over n searches is √(c(1−c)/n).
 */
import type { SearchSettings } from '../src/search';
import { logGrid, simulateGrid, simulateSearch, trueBoundary, type Truth } from '../test/search/synthetic';

export interface SearchBenchOutput {
  log(line: string): void;
  emit(record: Record<string, unknown>): void;
}

interface Scenario {
  name: string;
  truth: Truth;
  lo: number;
  hi: number;
  among?: 'alive' | 'all';
}

/** Like the real boundary at L=200: range [10, 201], N50 ≈ 40, half the seeds dead at initialisation. */
const LATENT = { n50: 40, deadFraction: 0.5, shared: 1 } as const;

const SCENARIOS: Scenario[] = [
  { name: 'independent runs, slope 6 (the README scenario)', truth: { n50: 100, slope: 6, deadFraction: 0.3 }, lo: 10, hi: 501 },
  ...[1, 2, 6].flatMap((slope) => [
    { name: `seed thresholds, slope ${slope}`, truth: { ...LATENT, slope }, lo: 10, hi: 201 },
    { name: `seed thresholds, slope ${slope}, top 0.85`, truth: { ...LATENT, slope, top: 0.85 }, lo: 10, hi: 201 },
  ]),
  { name: 'half-shared seed thresholds, slope 2', truth: { ...LATENT, slope: 2, shared: 0.5 }, lo: 10, hi: 201 },
  { name: 'independent runs, slope 6, among: all (the rate tops out at 0.7)', truth: { n50: 100, slope: 6, deadFraction: 0.3 }, lo: 10, hi: 501, among: 'all' },
];

function settingsOf(sc: Scenario): SearchSettings {
  return { lo: sc.lo, hi: sc.hi, target: 0.5, among: sc.among ?? 'alive', precision: 0.25, budget: 400, batch: 4 };
}

interface Interval {
  estimate: number | null;
  ciLow: number | null;
  ciHigh: number | null;
}

interface Tally {
  coverage: number;
  /** Monte Carlo standard error of the coverage. */
  se: number;
  medianWidth: number;
}

function covers(a: Interval, truth: number): boolean {
  return (a.ciLow === null || a.ciLow <= truth) && (a.ciHigh === null || truth <= a.ciHigh) && (a.ciLow !== null || a.ciHigh !== null || a.estimate !== null);
}

function relWidth(a: Interval): number {
  return a.ciLow === null || a.ciHigh === null || a.estimate === null ? Infinity : (a.ciHigh - a.ciLow) / a.estimate;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function tally(answers: readonly Interval[], truth: number): Tally {
  const c = answers.filter((a) => covers(a, truth)).length / answers.length;
  return { coverage: c, se: Math.sqrt((c * (1 - c)) / answers.length), medianWidth: median(answers.map(relWidth)) };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}`;
const width = (w: number) => (Number.isFinite(w) ? w.toFixed(2) : '∞');

/** A search variant over `count` worlds: its tally, mean runs and share bracketed. */
function searches(s: SearchSettings, t: Truth, truth: number, count: number): Tally & { runs: number; bracketed: number } {
  const answers = Array.from({ length: count }, (_, i) => simulateSearch(s, t, i + 1));
  return { ...tally(answers, truth), runs: answers.reduce((n, a) => n + a.runs, 0) / count, bracketed: answers.filter((a) => a.bracketed).length / count };
}

/**
 * The smallest seeds-per-value r (within `maxR`) whose grid reaches a median width of at most
 * `target` over `count` worlds, found by doubling and then bisection (the width shrinks with r).
 */
function gridFor(s: SearchSettings, t: Truth, truth: number, target: number, count: number, fresh: boolean, maxR: number): { r: number | null; tally: Tally } {
  const values = logGrid(s.lo, s.hi, 10);
  const at = new Map<number, Tally>();
  const run = (r: number): Tally => {
    let got = at.get(r);
    if (!got) {
      const answers = Array.from({ length: count }, (_, i) => simulateGrid(s, t, 100_000 + i, values, r, fresh));
      at.set(r, (got = tally(answers, truth)));
    }
    return got;
  };
  let lo = 1;
  let hi = 2;
  while (run(hi).medianWidth > target) {
    lo = hi;
    if (hi >= maxR) return { r: null, tally: run(hi) };
    hi = Math.min(maxR, hi * 2);
  }
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (run(mid).medianWidth > target) lo = mid;
    else hi = mid;
  }
  return { r: hi, tally: run(hi) };
}

export function benchSearch(out: SearchBenchOutput, argv: readonly string[]): void {
  const at = argv.indexOf('--searches');
  const count = at >= 0 ? Number(argv[at + 1]) : 200;
  if (!(Number.isInteger(count) && count > 0)) throw new Error(`--searches: expected a positive integer, got ${argv[at + 1]}`);
  out.log(`  ${count} simulated searches (and grids) per scenario; target 0.5 among alive runs unless said, precision 0.25, budget 400, repeats 4; coverage ± its Monte Carlo error`);
  out.log('  search: fresh seeds, ceiling model, seed-cluster interval; logistic: the same without the ceiling; old method: seed r at every value, logistic, runs as independent');
  out.log('  | scenario | true N50 | search: coverage % | runs | median width | logistic: coverage % | runs | width | old method: coverage % | runs | width | shared seeds, seed interval: coverage % | bracketed % | runs |');
  out.log('  |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  const searched: Array<{ sc: Scenario; truth: number; now: ReturnType<typeof searches> }> = [];
  for (const sc of SCENARIOS) {
    const s = settingsOf(sc);
    const truth = trueBoundary(sc.truth, s.target, s.among)!;
    const now = searches(s, sc.truth, truth, count);
    const logistic = searches({ ...s, model: 'logistic' }, sc.truth, truth, count);
    const before = searches({ ...s, seeds: 'shared', interval: 'run', model: 'logistic' }, sc.truth, truth, count);
    const shared = searches({ ...s, seeds: 'shared' }, sc.truth, truth, count);
    searched.push({ sc, truth, now });
    out.log(
      `  | ${sc.name} | ${truth.toFixed(1)} | **${pct(now.coverage)} ± ${pct(now.se)}** | ${now.runs.toFixed(0)} | ${width(now.medianWidth)} | ` +
        `${pct(logistic.coverage)} ± ${pct(logistic.se)} | ${logistic.runs.toFixed(0)} | ${width(logistic.medianWidth)} | ` +
        `${pct(before.coverage)} ± ${pct(before.se)} | ${before.runs.toFixed(0)} | ${width(before.medianWidth)} | ` +
        `${pct(shared.coverage)} ± ${pct(shared.se)} | ${pct(shared.bracketed)} | ${shared.runs.toFixed(0)} |`,
    );
    for (const [variant, r] of [['search', now], ['logistic', logistic], ['old_method', before], ['shared_seeds_seed_interval', shared]] as const) {
      out.emit({ case: 'search_coverage', scenario: sc.name, variant, true_boundary: truth, searches: count, coverage: r.coverage, coverage_se: r.se, mean_runs: r.runs, median_relative_width: r.medianWidth, bracketed: r.bracketed });
    }
  }
  out.log('');
  out.log('  runs for the search\'s median relative width: a 10-value log grid over the same range, same model and interval');
  out.log('  | scenario | search: runs | width | coverage % | grid, fresh seed per run: runs | coverage % | search/grid | grid as a sweep (seed r at every value): runs | coverage % |');
  out.log('  |---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { sc, truth, now } of searched) {
    const s = settingsOf(sc);
    const values = logGrid(s.lo, s.hi, 10).length;
    const fresh = gridFor(s, sc.truth, truth, now.medianWidth, count, true, 400);
    const sweep = gridFor(s, sc.truth, truth, now.medianWidth, count, false, 400);
    const runs = (g: { r: number | null }) => (g.r === null ? `> ${values * 400}` : `${values * g.r}`);
    const ratio = fresh.r === null ? '–' : (now.runs / (values * fresh.r)).toFixed(2);
    out.log(
      `  | ${sc.name} | ${now.runs.toFixed(0)} | ${width(now.medianWidth)} | ${pct(now.coverage)} ± ${pct(now.se)} | ${runs(fresh)} | ${pct(fresh.tally.coverage)} ± ${pct(fresh.tally.se)} | ${ratio} | ` +
        `${runs(sweep)} | ${pct(sweep.tally.coverage)} ± ${pct(sweep.tally.se)} |`,
    );
    for (const [variant, g] of [['grid_fresh_seeds', fresh], ['grid_as_sweep', sweep]] as const) {
      out.emit({ case: 'search_efficiency', scenario: sc.name, variant, true_boundary: truth, searches: count, search_runs: now.runs, search_median_relative_width: now.medianWidth, grid_values: values, grid_seeds_per_value: g.r, grid_runs: g.r === null ? null : values * g.r, grid_coverage: g.tally.coverage, grid_coverage_se: g.tally.se, grid_median_relative_width: g.tally.medianWidth });
    }
  }
}
