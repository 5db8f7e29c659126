import { estimateRunSeconds } from '../grid';
import type { SweepPace } from '../store';

/*
 * The one estimate of a sweep's time left. `status`, `status --watch` and the `run` progress
 * bar all read a SweepPace from the database and call sweepEtaSeconds, so whichever process
 * shows it, they agree.
 */

/** Finishes older than this do not describe the current pace (a sweep resumed the next day). */
export const PACE_WINDOW_SECONDS = 3600;
/** The pace is taken over at most this many recent finishes. */
export const PACE_RUNS = 50;

/**
 * Seconds until the sweep is done. From the whole sweep's pace when at least two runs finished
 * within the window (every runner on the database counts, since they all finish runs into it):
 * runs left ÷ runs per second since the first of those finishes (counted to now, not to the last
 * finish, so two runs finishing together do not look infinitely fast and a stalled sweep's ETA
 * grows). Before that, from
 * the cost model (grid/cost.ts): the unfinished runs' estimated seconds ÷ `parallelism` workers.
 */
export function sweepEtaSeconds(pace: SweepPace, now: number, parallelism: number): number {
  if (pace.remaining <= 0) return 0;
  const recent = pace.recentFinishes.filter((t) => t >= now - PACE_WINDOW_SECONDS).slice(-PACE_RUNS);
  if (recent.length >= 2) {
    const span = now - recent[0]!;
    if (span > 0) return pace.remaining / ((recent.length - 1) / span);
  }
  let seconds = 0;
  for (const g of pace.unfinished) seconds += estimateRunSeconds(g.params) * g.count;
  return seconds / Math.max(1, parallelism);
}
