import type { ParamValue } from '../spec/schema';
import type { EpochRecord } from './metrics-protocol';
import type { ProcessRecord } from './process-group';

/**
 * The user's own trainer (issue 18): what a sweep file's `trainer:` key declares, what one run of
 * it needs, and what it gives back. The built-in LSTM keeps its own contract (src/train/contract.ts);
 * these types are for module and command trainers, whose parameters and metrics are data.
 */

/** `trainer:` as loaded; absent in the file means the built-in LSTM. Paths are absolute. */
export type TrainerSpec =
  | { kind: 'builtin' }
  /** `trainer: {module: ./trainers/xor.mjs}`: `module` resolved against the sweep file's folder. */
  | { kind: 'module'; module: string; written: string }
  /** `trainer: {command: [python3, train.py, …]}`: argv template, run in `cwd` (the sweep file's folder). */
  | { kind: 'command'; command: string[]; cwd: string };

export type DeclaredType = 'integer' | 'number' | 'boolean' | 'string';

/** One parameter a module or command trainer declares (`params:` in the file, or exported by the module). */
export interface DeclaredParam {
  type: DeclaredType;
  /** Used when neither a base value, an axis nor a case sets it; absent: the parameter must be set. */
  default?: ParamValue;
  /** Inclusive bounds (integer, number). */
  min?: number;
  max?: number;
  /** The values allowed ("one of a list"). */
  values?: readonly ParamValue[];
  doc?: string;
}

/** Which way a metric is good: the rule says `below: 0.1` or `above: 0.9`. */
export type MetricDirection = 'below' | 'above';

/** Which epoch a rule reads: the last one stored (the default) or the best one for the rule's direction. */
export type RuleEpoch = 'last' | 'best';

/** One epoch a user trainer reported: any metric name → value (NaN/±Inf already null). */
export type ReportedEpoch = EpochRecord;

/** Everything one run of a user trainer needs. */
export interface RunJob {
  runId: number;
  seed: number;
  /** The run's typed parameters (declared ones, resolved). */
  params: Readonly<Record<string, ParamValue>>;
  /** A fresh folder per attempt, beside the database (params.json, metrics.jsonl, output.log). */
  runDir: string;
  /** The device this run may use (`--devices`), if any. */
  device?: string;
}

export interface JobStream {
  /** Each epoch as the trainer reports it, in increasing order. */
  onEpoch(e: ReportedEpoch): void;
  /** A command's process just started (recorded on the run: orphan cleanup after kill -9). */
  onProcess?(p: ProcessRecord): void;
}

/** What the run's code was: recorded on every run, compared per cell by report and compare. */
export interface CodeIdentity {
  /** sha256 (hex, shortened) of the module file or of the command's script; absent when none was found. */
  codeHash?: string;
  /** The module path, or the expanded command line. */
  commandLine: string;
}

interface JobOutput extends CodeIdentity {
  epochs: ReportedEpoch[];
  seconds: number;
  /** The last few KB of stdout and stderr (commands). */
  outputTail?: string;
  /** The whole output (capped), beside the database (commands). */
  logPath?: string;
}

/**
 * `ok: true`: the trainer returned (module) or exited 0 (command). `ok: false`: it threw, exited
 * non-zero or was killed by a signal it was not sent by converge; `error.message` holds the cause
 * and, for commands, the last lines of stderr. A run stopped through the AbortSignal rejects
 * instead (it goes back to pending, or is recorded timed_out by the caller).
 */
export type JobResult = (JobOutput & { ok: true }) | (JobOutput & { ok: false; error: { code: string; message: string } });

/**
 * Runs user-trainer jobs. `slots` is how many may run at once (workers, or devices when given).
 * Module trainers run in the Piscina pool (one module load per worker); command trainers run as
 * child processes from the main thread.
 */
export interface Executor {
  readonly slots: number;
  train(job: RunJob, stream: JobStream, signal: AbortSignal): Promise<JobResult>;
  close(): Promise<void>;
}

/** What a module trainer's `train(params, ctx)` receives. */
export interface ModuleContext {
  seed: number;
  runId: number;
  /** Aborted on Ctrl-C, SIGTERM, --timeout or a lost claim: stop soon (a throw after it is fine). */
  signal: AbortSignal;
  device?: string;
  runDir: string;
  /** Record one epoch: numbers by name; NaN/±Inf are stored as NULL (the run is then `diverged`). */
  report(epoch: number, metrics: Readonly<Record<string, number>>): void;
}
