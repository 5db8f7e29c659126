/**
 * The one driver of the commands that train, `run` and `search`: their shared options (defined
 * once, added to both), the database and the worker pool, Ctrl-C, SIGTERM and a closed output,
 * and what a stopped execution says. run.ts and search.ts say only what is theirs: what to train
 * and how to show the result. (commander: options defined once and added to each command.)
 */
import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../errors';
import { TrainPool, defaultWorkers } from '../pool/pool';
import type { SweepSpec } from '../spec';
import { CommandExecutor } from '../trainer/command-executor';
import { ModuleExecutor } from '../trainer/module-executor';
import type { Executor } from '../trainer/types';
import { ConvergeError } from '../errors';
import { closeDb, openDb, ownerId, type Db } from '../store';
import type { ExecuteEvents, ExecuteOptions, SweepExecution } from '../sweep/execute';
import { kernelWanted } from '../train/fused/kernel';
import { collect, deviceList, invokedCommand, nonNegativeInt, nonNegativeNumber, onOutputClosed, parseShard, plural, positiveInt, positiveNumber, writeErr, writeOut, type Shard } from './common';

/** The options of every command that trains. */
export interface TrainOptions {
  db?: string;
  workers: number;
  retries: number;
  maxAttempts: number;
  timeout?: number;
  maxHeapMb?: number;
  shard?: Shard;
  quiet?: boolean;
  json?: boolean;
  set: string[];
  /** Seconds between SIGTERM and SIGKILL when a run is stopped; absent: the sweep file's `grace:`, else 5. */
  grace?: number;
  /** Stop when the first k runs all fail (user trainers); 0: off. @default 3 */
  breaker: number;
  devices?: string[];
}

/** What the help of the shared options says differently per command. */
export interface TrainOptionTexts {
  shard: string;
  json: string;
  set: string;
}

export function addTrainOptions(command: Command, texts: TrainOptionTexts): Command {
  return command
    .option('--db <path>', 'result database (default: results/<name>.db)')
    .option('-w, --workers <n>', 'worker threads training in parallel', positiveInt('--workers'), defaultWorkers())
    .option('--retries <n>', 'retry a failed run up to n times', nonNegativeInt('--retries'), 0)
    .option('--max-attempts <n>', 'a run whose process died (killed, crashed: its claim expired) this many times is recorded failed instead of claimed again', positiveInt('--max-attempts'), 3)
    .option('--timeout <seconds>', 'stop a run after this many seconds and record it as timed_out', positiveNumber('--timeout'))
    .option('--max-heap-mb <mb>', 'heap limit of one worker thread in MB: a run over it fails alone (its thread is replaced) instead of exhausting the machine (default 2048)', positiveInt('--max-heap-mb'))
    .option('--shard <i/N>', texts.shard, parseShard)
    .option('-q, --quiet', 'no progress output, only the result')
    .option('--json', texts.json)
    .option('--set <key=value>', texts.set, collect, [])
    .option('--grace <seconds>', "a run that is stopped (Ctrl-C, SIGTERM, --timeout) has this many seconds to end: a command's process group gets SIGTERM, then SIGKILL; a module's ctx.signal aborts, then its thread is terminated (default: the sweep file's trainer grace:, else 5)", nonNegativeNumber('--grace'))
    .option('--breaker <k>', 'module and command trainers: when the first k runs all fail, start no more and exit 1 naming the last one (0: off)', nonNegativeInt('--breaker'), 3)
    .option('--devices <list>', 'module and command trainers: at most one run per device at a time (e.g. 0,1); each run gets CONVERGE_DEVICE and CUDA_VISIBLE_DEVICES (ctx.device), recorded on the run (overrides devices: in the sweep file)', deviceList);
}

/** The devices a user trainer's runs are spread over: --devices, else the sweep file's `devices:`. */
export function devicesOf(spec: SweepSpec, opts: Pick<TrainOptions, 'devices'>): string[] | undefined {
  return opts.devices ?? spec.devices;
}

/** The help both commands end with: how they stop, and their exit codes. */
export function stoppingHelp(command: 'run' | 'search'): string {
  return `Ctrl-C or SIGTERM stops cleanly: the runs in flight are given back, and the same command
resumes (a second Ctrl-C or SIGTERM stops at once). When the reader of the output goes away
(\`converge ${command} … | head\`), it stops the same way. A command trainer's run is its own
process group: stopping it sends SIGTERM to the group, SIGKILL after --grace seconds (a second
Ctrl-C: at once), so no trainer process outlives converge; after a kill -9 of converge, the next
\`converge ${command}\` on the database ends the ones it left before training their runs again.

Exit codes: 0 all runs done, 1 some runs failed, 2 bad input, 3 database problem,${command === 'run' ? '\n4 time limit (--stop-at, --max-time) reached with runs not started,' : ''}
130 interrupted (Ctrl-C, output closed), 143 terminated (SIGTERM).`;
}

type Why = 'SIGINT' | 'SIGTERM' | 'output closed';

function sayLockWait(seconds: number): void {
  writeErr(`waiting for the database lock held by another process (${Math.round(seconds)} s)`);
}

/** What a finished execution (or a search's rounds of them) reports back to the driver. */
export interface Executed {
  trained: number;
  interrupted: boolean;
  databaseFailed?: string | undefined;
}

/** One command's training session: the database, the pool, and how it stops. */
export class Session {
  private trainPool: TrainPool | undefined;
  /** Trains module and command runs (spec.trainer.kind !== 'builtin'); undefined for the built-in trainer. */
  readonly executor: Executor | undefined;
  private readonly devices: string[] | undefined;
  /** Between SIGTERM and SIGKILL: --grace, else the sweep file's `grace:`, else 5 s. */
  private readonly graceMs: number;
  /** The command as it was invoked, every option included (for "resume with"). */
  readonly resumeHint = invokedCommand();
  private execution: SweepExecution | undefined;
  private interrupts = 0;
  private exitCode: number = EXIT.interrupted;
  private readonly interruptHooks: (() => void)[] = [];
  private readonly notices = new Set<string>();

  constructor(
    private readonly command: 'run' | 'search',
    readonly db: Db,
    readonly dbPath: string,
    private readonly opts: TrainOptions,
    spec: SweepSpec,
  ) {
    const trainer = spec.trainer;
    this.devices = devicesOf(spec, opts);
    this.graceMs = (opts.grace ?? spec.grace ?? 5) * 1000;
    if (trainer.kind === 'builtin') {
      this.trainPool = new TrainPool({ workers: opts.workers, ...(opts.maxHeapMb !== undefined ? { maxHeapMb: opts.maxHeapMb } : {}) });
    } else if (trainer.kind === 'module') {
      this.executor = new ModuleExecutor({ module: trainer.module, workers: this.workers, graceMs: this.graceMs, ...(opts.maxHeapMb !== undefined ? { maxHeapMb: opts.maxHeapMb } : {}) });
    } else {
      this.executor = new CommandExecutor({ command: trainer.command, cwd: trainer.cwd, workers: this.workers, graceMs: this.graceMs });
    }
  }

  /** The built-in trainer's pool (made on first use for a user trainer, which does not need it). */
  get pool(): TrainPool {
    this.trainPool ??= new TrainPool({ workers: this.opts.workers, ...(this.opts.maxHeapMb !== undefined ? { maxHeapMb: this.opts.maxHeapMb } : {}) });
    return this.trainPool;
  }

  /** Runs at once: --workers, and no more than the devices when they are given. */
  get workers(): number {
    return this.devices ? Math.min(this.opts.workers, this.devices.length) : this.opts.workers;
  }

  /** Take everything down: the pool's threads, a user trainer's threads or process groups. */
  async close(): Promise<void> {
    await Promise.all([this.trainPool?.destroy(), this.executor?.close()]);
  }

  /** Progress goes to a person: neither --json nor --quiet. */
  get chatty(): boolean {
    return !this.opts.json && !this.opts.quiet;
  }

  get interrupted(): boolean {
    return this.interrupts > 0;
  }

  /**
   * A progress line: on stderr beside a terminal; otherwise on stdout, where logs and `| tee`
   * keep it, and where a reader that goes away (`| head`) stops the command at the next line.
   */
  say(text: string): void {
    if (!this.chatty) return;
    if (process.stderr.isTTY) writeErr(text);
    else writeOut(text);
  }

  /** `fn` runs at the first interrupt, before the runs in flight are stopped (a progress bar ends). */
  onInterrupt(fn: () => void): void {
    this.interruptHooks.push(fn);
  }

  /** The execution in progress: an interrupt stops it, at once if the interrupt came first. */
  track(execution: SweepExecution | undefined): void {
    this.execution = execution;
    if (execution && this.interrupted) execution.stop();
  }

  /** Said when the command's writes have waited long for another process's lock; they keep waiting (store/busy.ts). */
  readonly onLockWait = sayLockWait;

  /** What every SweepExecution of the command is given, with the command's own events added. */
  executeOptions(events: ExecuteEvents = {}): Omit<ExecuteOptions, 'db' | 'spec' | 'keys'> {
    const user = this.executor !== undefined;
    return {
      ...(user ? { executor: this.executor, runsDir: `${this.dbPath}.runs`, breaker: this.opts.breaker, graceMs: this.graceMs, ...(this.devices ? { devices: this.devices } : {}) } : { pool: this.pool }),
      onOrphan: (o) => {
        if (o.outcome === 'ended') writeErr(`run ${o.runId}: ended the trainer processes a killed converge left running; the run is trained again`);
        else if (o.outcome === 'stuck') writeErr(`run ${o.runId}: a trainer process a killed converge left running survived SIGKILL`);
      },
      owner: ownerId(),
      retries: this.opts.retries,
      maxAttempts: this.opts.maxAttempts,
      timeoutSeconds: this.opts.timeout ?? 0,
      ...leaseFromEnv(),
      events: {
        ...events,
        onClaimLost: (run) =>
          writeErr(`run ${run.id} (seed ${run.seed}): lost its claim (this process's lease expired and another process took it over); stopped its work here, that process records it`),
        onRunEnd: (end) => {
          // One line per distinct notice, not per run: every worker thread reports it on each run.
          if (end.notice !== undefined && !this.notices.has(end.notice)) {
            this.notices.add(end.notice);
            writeErr(`note: ${end.notice}`);
          }
          events.onRunEnd?.(end);
        },
        onLockWait: this.onLockWait,
        onWaitForOthers: (held) => {
          if (this.chatty) writeErr(`waiting for ${held} run(s) held by other \`converge ${this.command}\` processes (redone here if their owner stops heartbeating)`);
        },
      },
    };
  }

  /** When the execution stopped early: says why on stderr and returns the exit code; undefined when it ran to the end. */
  stoppedEarly(r: Executed): number | undefined {
    if (r.databaseFailed) {
      writeErr(`stopped claiming runs: ${r.databaseFailed}; the runs in flight were given back (or, while the database refuses writes, are redone once their lease expires). Check the database, then resume with: ${this.resumeHint}`);
      return EXIT.store;
    }
    if (r.interrupted || this.interrupted) {
      writeErr(`interrupted after ${plural(r.trained, 'run')}; the database is consistent. Resume with: ${this.resumeHint}`);
      return this.exitCode;
    }
    return undefined;
  }

  /**
   * Listen for Ctrl-C, SIGTERM and a closed output until the returned function is called.
   * SIGTERM (Slurm, Kubernetes, systemd) is the first Ctrl-C with its own exit code, 143; a
   * closed output (`| head`) is a Ctrl-C nobody can see.
   */
  listen(): () => void {
    const onSigint = () => this.interrupt('SIGINT');
    const onSigterm = () => this.interrupt('SIGTERM');
    const offClosed = onOutputClosed(() => this.interrupt('output closed'));
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    return () => {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      offClosed();
    };
  }

  private interrupt(why: Why): void {
    this.interrupts += 1;
    if (this.interrupts === 1) {
      this.exitCode = why === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
      for (const fn of this.interruptHooks) fn();
      const how = why === 'SIGINT' ? 'Ctrl-C again' : why === 'SIGTERM' ? 'SIGTERM or Ctrl-C again' : 'Ctrl-C';
      writeErr(`\n${why === 'SIGINT' ? 'interrupted' : why}: stopping the runs in flight (${how} to stop at once)…`);
      this.execution?.stop();
    } else if (why !== 'output closed') {
      // Every write is its own transaction and the file is in WAL mode, so stopping here
      // leaves a consistent database; runs left "running" are reclaimed on resume.
      // Their process groups cannot wait out a grace period: SIGKILL, so no trainer outlives this process.
      if (this.executor instanceof CommandExecutor) this.executor.killAll();
      writeErr(`stopped at once; resume with: ${this.resumeHint}`);
      process.exit(why === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
    }
  }
}

/**
 * Open the sweep's database, start the pool, listen for Ctrl-C, SIGTERM and a closed output,
 * run `body`, and take everything down again whatever happens. Returns the exit code.
 */
export async function drive(command: 'run' | 'search', spec: SweepSpec, opts: TrainOptions, body: (s: Session) => Promise<number>): Promise<number> {
  // Checked here, before anything is written, rather than failing every run in the workers.
  kernelWanted();
  if (spec.trainer.kind === 'builtin' && devicesOf(spec, opts)) {
    throw new ConvergeError('usage.devices', '--devices (or devices:) is for module and command trainers; the built-in LSTM trains on the CPU (--workers sets how many runs at once)');
  }
  const dbPath = opts.db ?? join('results', `${spec.name}.db`);
  // The default folder is ours to make; a folder the user named must exist (a typo there should
  // not silently start a new database somewhere else).
  if (opts.db === undefined) mkdirSync('results', { recursive: true });
  const db = openDb(dbPath, { sweep: spec.name, onLockWait: sayLockWait });
  let session: Session | undefined;
  let stopListening = () => {};
  try {
    session = new Session(command, db, dbPath, opts, spec);
    stopListening = session.listen();
    return await body(session);
  } finally {
    await session?.close();
    closeDb(db);
    // Only now: shutting the pool down takes a few event-loop turns, and a second Ctrl-C in them
    // must still take the "stop at once" path (exit 130 with the resume hint) rather than
    // Node's default of dying by the signal.
    stopListening();
  }
}

/**
 * Test-only: CONVERGE_LEASE_SECONDS shortens the claim lease (default 30 s, heartbeat every
 * lease/4), so the reliability tests can let a real lease expire in seconds.
 */
function leaseFromEnv(): { leaseSeconds?: number } {
  const v = Number(process.env.CONVERGE_LEASE_SECONDS);
  return Number.isFinite(v) && v > 0 ? { leaseSeconds: v } : {};
}
