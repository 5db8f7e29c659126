/**
 * The report layer's input and output shapes. The store layer produces the input rows; nothing in
 * src/report opens a database, so these types are the whole contract between the two.
 */

export type Outcome = 'converged' | 'not_converged' | 'dead' | 'diverged' | 'failed' | 'timed_out';
export type ParamValue = number | string | boolean;
export interface RunRow {
  id: number; runKey: string; seed: number;
  params: Record<string, ParamValue>;   // every resolved parameter: seq_len, n_samples, batch_size, epochs, units, recurrent_activation, kernel_initializer, kernel_gain, engine, …
  status: 'pending' | 'running' | 'done' | 'failed';
  outcome: Outcome | null;              // null while pending/running
  finalValMae: number | null; finalLoss: number | null; convergedEpoch: number | null; epochsRun: number | null; seconds: number | null;
}
export interface EpochRow { runId: number; epoch: number; loss: number; mae: number; valLoss: number; valMae: number; seconds: number }
export interface ReportInput { sweepName: string; axes: string[]; /* the swept parameter names, sorted */ runs: RunRow[]; epochs?: EpochRow[]; threshold: number; metric: string }

/** Every outcome, in the order tables and legends show them (best first). */
export const OUTCOMES: readonly Outcome[] = ['converged', 'not_converged', 'dead', 'diverged', 'failed', 'timed_out'];

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
  /** n: finished runs (status done or failed); unfinished runs are not counted in the rate. */
  n: number;
  /** k / n, or null when n = 0. */
  rate: number | null;
  /** 95% Wilson interval for the rate ({0, 1} when n = 0). */
  ci: Interval;
  /** Outcome counts over the n finished runs. */
  outcomes: Record<Outcome, number>;
  /** Final validation MAE over finished runs with a finite value. */
  valMae: Quartiles;
  /** Epoch of convergence over converged runs that recorded one. */
  convergedEpoch: Quartiles;
}
