/**
 * Learning curves of many runs, summarised. Thirty overlapping lines in a small panel are a blob
 * in which no run can be followed, and each line costs the report a path of its own; the median
 * per epoch with a band around it shows where the runs are, at a cost that does not grow with
 * their number. Pure: series in, points out; the HTML layer draws them.
 */
import { quantiles } from './stats';
import type { SeriesPoint } from './series';

/** One epoch of an aggregated learning curve. */
export interface BandPoint {
  epoch: number;
  /** How many runs have a value at this epoch. */
  runs: number;
  median: number;
  /** The band: the 25th and 75th percentiles (the interquartile range). */
  lo: number;
  hi: number;
}

/**
 * Per epoch, the median and the interquartile range of the runs' values, with quantiles as in
 * `quantiles` (linear interpolation between order statistics, numpy's default). Each element of
 * `series` is one run's curve (x = epoch, y = value). A run counts once at each epoch it has a
 * finite value: a run that stopped early (a run dead at initialisation that the fused engine
 * stops, a diverged run whose values end in NaN) is in the epochs it recorded and absent after,
 * and if a run lists an epoch twice its last value is the one counted. Epochs no run has are
 * not in the result; the result is sorted by epoch.
 */
export function curveBand(series: readonly (readonly SeriesPoint[])[]): BandPoint[] {
  const byEpoch = new Map<number, number[]>();
  for (const run of series) {
    const last = new Map<number, number>();
    for (const p of run) if (Number.isFinite(p.y)) last.set(p.x, p.y);
    for (const [epoch, y] of last) {
      let values = byEpoch.get(epoch);
      if (!values) byEpoch.set(epoch, (values = []));
      values.push(y);
    }
  }
  return [...byEpoch.keys()]
    .sort((a, b) => a - b)
    .map((epoch) => {
      const values = byEpoch.get(epoch)!;
      const q = quantiles(values);
      return { epoch, runs: values.length, median: q.median!, lo: q.q1!, hi: q.q3! };
    });
}
