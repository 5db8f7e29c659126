/**
 * The report layer's input and output shapes. The store layer produces the input rows; nothing in
 * src/report opens a database, so these types are the whole contract between the two.
 */

import type { Outcome, ScoredEpoch } from '../outcome';
import type { BudgetPoint } from './budget';
import type { ThresholdRate } from './threshold';

export type { Outcome } from '../outcome';
export type ParamValue = number | string | boolean;
export interface RunRow {
  id: number; runKey: string; seed: number;
  params: Record<string, ParamValue>;   // every resolved parameter: seq_len, n_samples, batch_size, epochs, units, recurrent_activation, kernel_initializer, kernel_gain, engine, …
  status: 'pending' | 'running' | 'done' | 'failed';
  outcome: Outcome | null;              // null while pending/running, or when the run lacks the rule's metric
  aliveAtInit?: boolean | null;         // null/absent: not measured (recorded before schema 4)
  /** The rule's metric at the scored epoch, when the run was scored at read time (src/report/score.ts). */
  ruleValue?: number | null;
  /** The last epoch's metrics as stored in the runs table (final_*); absent columns are null. */
  finalMetrics?: Readonly<Record<string, number | null>>;
  /** True when the run finished but lacks the rule's metric (recorded before population metrics). */
  lacksMetric?: boolean;
  /** Whose code trained the run; absent: the built-in trainer. */
  trainer?: 'builtin' | 'module' | 'command';
  /** A user trainer's code hash (module file or command script), when one was recorded. */
  codeHash?: string | null;
  finalValMae: number | null; finalLoss: number | null; convergedEpoch: number | null; epochsRun: number | null; seconds: number | null;
}
export interface EpochRow extends ScoredEpoch { runId: number; seconds: number }
export interface ReportInput {
  sweepName: string;
  axes: string[]; // the swept parameter names, sorted
  runs: RunRow[];
  epochs?: EpochRow[];
  threshold: number;
  metric: string;
  /** The epoch budget the runs were scored at (--epoch), or null for each run's last epoch. */
  epoch?: number | null;
  /** A user trainer's rule: below (default) or above the threshold, at the last (default) or best epoch. */
  direction?: 'below' | 'above';
  at?: 'last' | 'best';
  /** Whose code trained the runs; absent: the built-in LSTM. A user sweep has no alive-at-init columns. */
  trainer?: 'builtin' | 'module' | 'command';
}

export { OUTCOMES } from '../outcome';

export interface Interval { lo: number; hi: number }
export interface Quartiles { q1: number | null; median: number | null; q3: number | null }

/** One cell of a sweep: all seeds that share the same values of the swept axes. */
export interface CellSummary {
  /** The axes' values only (not the fixed parameters). An axis a run lacks is left out. */
  params: Record<string, ParamValue>;
  /** `axis=value` pairs in axis order, e.g. "batch_size=1 n_samples=80 seq_len=200". */
  key: string;
  /** All runs in the cell, whatever their status. */
  runs: number;
  /** Runs with status `done`. */
  done: number;
  /** k: finished runs whose outcome is `converged`. */
  converged: number;
  /**
   * n: finished runs, i.e. runs that trained to the end and could be scored. Not in n: unfinished
   * runs, failed and timed_out runs (infrastructure, counted in `outcomes`) and runs lacking the
   * rule's metric (`lacksMetric`).
   */
  n: number;
  /** k / n, or null when n = 0. */
  rate: number | null;
  /** 95% Wilson interval for the rate ({0, 1} when n = 0). */
  ci: Interval;
  /** Of the n finished runs, those alive at initialisation (alive_at_init = 1). */
  alive: number;
  /** Of those, converged. */
  convergedAlive: number;
  rateAlive: number | null;
  ciAlive: Interval;
  /** Finished runs that lack the rule's metric (excluded from n). */
  lacksMetric: number;
  /** Outcome counts (failed and timed_out included, though not in n). */
  outcomes: Record<Outcome, number>;
  /** Ids of the failed and timed_out runs, to list them. */
  failedRuns: number[];
  /** Median over the n finished runs of the rule's metric at the scored epoch (null when not scored at read time). */
  ruleMedian: number | null;
  /** The rule the outcomes were scored with, and the epoch budget (null: each run's last epoch). */
  metric: string;
  threshold: number;
  epoch: number | null;
  /** Final validation MAE over finished runs with a finite value. */
  valMae: Quartiles;
  /** Epoch of convergence over converged runs that recorded one. */
  convergedEpoch: Quartiles;
  /** Set for a user trainer's sweep: no alive-at-init, dead or validation columns, a no_metric column. */
  userTrainer?: boolean;
  /** A user sweep's cell: its runs' code hashes with their counts, most runs first (two or more: mixed code). */
  codeHashes?: { hash: string; runs: number }[];
  /** A user sweep's cell: ids of the runs that never reported the rule's metric (no_metric, not in n). */
  noMetricRuns?: number[];
  /** The budget curve (src/report/budget.ts), when the caller computed it. */
  byEpoch?: BudgetPoint[];
  /** The rate at thresholds around the rule's (src/report/threshold.ts), when the caller computed it. */
  byThreshold?: ThresholdRate[];
}
