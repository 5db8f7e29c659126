/**
 * Adaptive repeats: `repeats: {min, max, until: {ci_width, decide}}`. Every cell starts with `min`
 * seeds; after each batch the cell gets `batch` more (up to `max`) while its Wilson interval is
 * wider than `ci_width` or still contains `decide`. The decision is replayed from seed 0 on the
 * outcomes in seed order, so it is a pure function of the observed runs: reruns, a second runner
 * on the same database and a resumed run all reach the same seed count, and seeds stay
 * spec.seed + 0, 1, 2, … so run keys never depend on timing.
 */
import { inN, type Count } from '../outcome';
import { wilson } from '../report/stats';

export interface AdaptiveRepeats {
  min: number;
  max: number;
  until: {
    /** Keep adding seeds while the 95 % Wilson interval is wider than this. */
    ciWidth?: number;
    /** Keep adding seeds while the interval contains this rate. */
    decide?: number;
  };
  /** Seeds added per step. @default min */
  batch?: number;
}

/**
 * Outcome of a seed as the decision sees it: true / false counted (converged or not), 'skip' a
 * finished run that does not count in n (an infrastructure failure, or a run lacking the rule's
 * metric), and undefined a seed not finished yet.
 */
export type SeedOutcome = boolean | 'skip' | undefined;

/** A seed's outcome for the decision, from how the outcome module's rule counts its run. */
export function seedOutcome(count: Count): SeedOutcome {
  if (count === 'unfinished') return undefined;
  return inN(count) ? count === 'converged' : 'skip';
}

/** Is a cell with k of n counted runs converged still undecided under `until`? */
export function undecided(until: AdaptiveRepeats['until'], k: number, n: number): boolean {
  const ci = wilson(k, n);
  if (until.ciWidth !== undefined && ci.hi - ci.lo > until.ciWidth) return true;
  if (until.decide !== undefined && ci.lo <= until.decide && until.decide <= ci.hi) return true;
  return false;
}

/**
 * How many seeds the cell should have now, given the outcomes of its seeds 0, 1, … (index =
 * repeat). Seeds beyond a batch boundary never influence the decision at that boundary.
 */
export function seedsWanted(cfg: AdaptiveRepeats, outcomes: readonly SeedOutcome[]): number {
  const batch = cfg.batch ?? cfg.min;
  let m = Math.min(cfg.min, cfg.max);
  for (;;) {
    if (m >= cfg.max) return cfg.max;
    let k = 0;
    let n = 0;
    for (let r = 0; r < m; r++) {
      const o = outcomes[r];
      if (o === undefined) return m; // the batch is not finished: wait for it
      if (o === 'skip') continue;
      n += 1;
      if (o) k += 1;
    }
    if (!undecided(cfg.until, k, n)) return m;
    m = Math.min(m + batch, cfg.max);
  }
}
