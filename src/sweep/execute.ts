import type { PlanSync } from '../store';
import {
  BUSY_NOTICE_MS,
  claimRuns,
  expireDeadOwners,
  failRun,
  finishRun,
  heartbeat,
  recordEpoch,
  releaseRuns,
  retryWhileBusy,
  runsHeldByOthers,
  type ClaimedRun,
  type Db,
} from '../store';
import type { ResolvedParams, SweepSpec } from '../spec';
import { scoreRun, toScoredEpoch, type Outcome } from '../outcome';
import type { EpochMetrics } from '../train/contract';
import { toRequest } from './request';
import type { TrainPool } from '../pool/pool';
import { endOrphanGroup } from '../trainer/process-group';
import type { Executor } from '../trainer/types';
import { trainUserRun, type UserRunEnd, type UserRunHost } from './execute-user';
import { orphanRecords } from '../store';

export interface ExecuteOptions {
  db: Db;
  spec: SweepSpec;
  /** Trains the built-in trainer's runs (required for it). */
  pool?: TrainPool;
  owner: string;
  /** Failed runs are retried up to this many times. @default 0 */
  retries: number;
  /** Per-run wall-clock limit in seconds; 0 = none. */
  timeoutSeconds: number;
  /** Only these run keys (a shard); undefined = all. */
  keys?: ReadonlySet<string> | undefined;
  /** Claim lease; a heartbeat renews it every lease/4. @default 30 */
  leaseSeconds?: number;
  /** A run whose process vanished this many times is recorded failed, not claimed again. @default 3 */
  maxAttempts?: number;
  events?: ExecuteEvents;
  /** Trains the runs of a module or command trainer (spec.trainer.kind !== 'builtin'); `pool` is then unused. */
  executor?: Executor;
  /** Where user runs get their folders: `<db path>.runs`. */
  runsDir?: string;
  /** At most one run per device at a time (user trainers); the device is passed to the trainer and recorded. */
  devices?: readonly string[];
  /** Stop claiming when the first k runs this execution finished all failed (user trainers); 0: never. @default 3 */
  breaker?: number;
  /** SIGTERM → SIGKILL for the groups a killed converge left behind. @default 5000 */
  graceMs?: number;
  /** The orphans a killed converge left were ended at start: how many, and how. */
  onOrphan?(o: { runId: number; outcome: string }): void;
}

export interface RunEnd {
  id: number;
  runKey: string;
  params: ResolvedParams;
  seed: number;
  /** null: the run lacks the rule's metric (unseen_mae when every row was drawn). */
  outcome: Outcome | null;
  /** The sweep rule's metric, and its value at the epoch the outcome was scored on (null: not stored, or the run failed). */
  metric: string;
  metricValue: number | null;
  seconds: number;
  error?: string;
  backend?: string;
  /** The engine's TrainSummary.notice, if any (the CLI prints each distinct one once). */
  notice?: string;
}

export interface ExecuteEvents {
  onRunStart?(run: { id: number; params: ResolvedParams; seed: number; attempt: number }): void;
  onEpoch?(runId: number, m: EpochMetrics): void;
  onRunEnd?(end: RunEnd): void;
  /** Nothing left to claim, but `held` runs are still held by other processes: waiting for them. */
  onWaitForOthers?(held: number): void;
  /** Another process took this run over (this one's lease expired): its work here was stopped. */
  onClaimLost?(run: { id: number; seed: number }): void;
  /** This runner's writes have waited `seconds` for the lock another process holds; they keep waiting. */
  onLockWait?(seconds: number): void;
}

export interface ExecuteResult {
  trained: number;
  converged: number;
  failed: number;
  interrupted: boolean;
  /** The runner stopped because the database failed it: heartbeats in a row, or an epoch write (why). */
  databaseFailed?: string;
  /** The breaker tripped: the first k runs all failed (the message names the last one). */
  breaker?: string;
  /** drain() was called: no run was claimed after it, the runs in flight finished. */
  drained?: boolean;
}

/**
 * Consecutive failed heartbeats after which a runner stops claiming and gives its runs back.
 * A heartbeat that waits for another process's lock has not failed: it keeps waiting.
 */
export const MAX_FAILED_HEARTBEATS = 3;

/**
 * Train every claimable run of the plan on the pool, keeping `pool.workers` runs in flight.
 * The main thread is the only SQLite writer: epochs are recorded as they stream in, each in its
 * own short transaction so readers and other runners never wait long.
 */
export class SweepExecution {
  private readonly o: ExecuteOptions;
  private readonly controllers = new Map<number, AbortController>();
  /** Stops a run's work here when its claim turns out to be lost (see loseClaim in trainOne). */
  private readonly losers = new Map<number, () => void>();
  private databaseError: string | undefined;
  private stopping = false;
  /** drain(): claim nothing more, but let the runs in flight finish (a time limit, not an interrupt). */
  private draining = false;
  private readonly lease: number;
  /** Ends the current wait for other processes early (stop()). */
  private wake: (() => void) | undefined;
  private lockNoticeAt = -Infinity;
  /** Runs at once: the pool's workers, or the executor's slots (no more than the devices). */
  private readonly slots: number;
  private readonly freeDevices: string[];
  /** The first runs this execution finished (user trainers), for the breaker. */
  private readonly firstEnds: UserRunEnd[] = [];
  private broken: string | undefined;

  constructor(o: ExecuteOptions) {
    this.o = o;
    this.lease = o.leaseSeconds ?? 30;
    const user = o.spec.trainer.kind !== 'builtin';
    if (user && !o.executor) throw new Error(`a ${o.spec.trainer.kind} trainer needs an executor`);
    if (!user && !o.pool) throw new Error('the built-in trainer needs a pool');
    const devices = user ? [...(o.devices ?? [])] : [];
    this.freeDevices = devices.reverse();
    const slots = user ? o.executor!.slots : o.pool!.workers;
    this.slots = devices.length > 0 ? Math.min(slots, devices.length) : slots;
  }

  /** Stop claiming, abort runs in flight; they go back to pending. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    for (const c of this.controllers.values()) c.abort();
    this.wake?.();
  }

  /**
   * Stop claiming; the runs in flight finish and are recorded as usual, then execute() returns
   * with `drained` (unlike stop(), nothing is aborted or given back). Later execute() calls claim nothing.
   */
  drain(): void {
    if (this.stopping || this.draining) return;
    this.draining = true;
    this.wake?.();
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get isStopping(): boolean {
    return this.stopping;
  }

  /**
   * Every store write of this runner: while another process holds the lock it waits and tries
   * again (store/busy.ts) instead of failing, so a busy database never stops a runner.
   */
  private write<T>(what: string, fn: () => T): Promise<T> {
    return retryWhileBusy(what, fn, {
      onWait: (seconds) => {
        // Claims, epochs and heartbeats wait for the same lock: one line for all of them.
        if (Date.now() - this.lockNoticeAt < BUSY_NOTICE_MS) return;
        this.lockNoticeAt = Date.now();
        this.o.events?.onLockWait?.(seconds);
      },
    });
  }

  async execute(): Promise<ExecuteResult> {
    const { db } = this.o;
    const result: ExecuteResult = { trained: 0, converged: 0, failed: 0, interrupted: false };
    // A killed converge's command runs may still be running: end them before their runs are
    // claimed again, so two copies never train one run and their late output reaches nothing.
    if (this.o.spec.trainer.kind === 'command') await this.endOrphans();
    await this.write('expire', () => expireDeadOwners(db));
    let failedBeats = 0;
    let beating = false;
    const beat = setInterval(() => {
      if (beating) return; // the last one still waits for the lock
      beating = true;
      this.write('heartbeat', () => {
        const held = heartbeat(db, this.o.owner, this.lease);
        // Checked in the same turn as the heartbeat, before a later claim adds runs it did not see.
        for (const [id, lose] of this.losers) if (!held.has(id)) lose();
      })
        .then(
          () => {
            failedBeats = 0;
          },
          (e: unknown) => {
            // A database that refuses writes (not one that is busy: that write waits) fails the
            // heartbeat; the lease has slack for several. Past that, the leases run out and other
            // processes take the runs over: stop claiming, give runs back.
            failedBeats += 1;
            if (failedBeats >= MAX_FAILED_HEARTBEATS) this.giveUp(`${MAX_FAILED_HEARTBEATS} heartbeats in a row failed (${(e as Error).message})`);
          },
        )
        .finally(() => {
          beating = false;
        });
    }, (this.lease * 1000) / 4);
    const inFlight = new Set<Promise<void>>();
    let waitAnnounced = false;
    try {
      for (;;) {
        if (this.stopping) break;
        const free = this.broken !== undefined || this.draining ? 0 : this.slots - inFlight.size;
        const claim = { owner: this.o.owner, limit: free, leaseSeconds: this.lease, retries: this.o.retries, keys: this.o.keys, maxAttempts: this.o.maxAttempts };
        const claimed = free > 0 ? await this.write('claim', () => claimRuns(db, claim)) : [];
        // Stopped while the claim waited: execute() gives these runs back below.
        if (this.stopping) break;
        for (const run of claimed) {
          const p = this.trainOne(run, result).finally(() => inFlight.delete(p));
          inFlight.add(p);
        }
        if (inFlight.size === 0) {
          if (this.broken !== undefined || this.draining) break;
          // Nothing claimable and nothing of ours in flight. Runs another process still holds are
          // not done yet: wait for them instead of returning (and exiting 0, "all runs done") with
          // the sweep incomplete. If that process dies, its runs become claimable (at once when it
          // ran on this host, else when its lease expires) and this loop trains them.
          const held = runsHeldByOthers(db, this.o.owner).filter((k) => !this.o.keys || this.o.keys.has(k)).length;
          if (held === 0) break;
          if (!waitAnnounced) this.o.events?.onWaitForOthers?.(held);
          waitAnnounced = true;
          await this.pause(Math.min(1000, (this.lease * 1000) / 4));
          await this.write('expire', () => expireDeadOwners(db));
          continue;
        }
        await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
    } finally {
      clearInterval(beat);
      if (this.stopping) {
        try {
          await this.write('release', () => releaseRuns(db, this.o.owner));
        } catch (e) {
          // Only when the database is failing (heartbeats too): the leases expire and the runs are redone.
          if (!this.databaseError) throw e;
        }
        result.interrupted = true;
        if (this.databaseError) result.databaseFailed = this.databaseError;
      }
      if (this.broken !== undefined) result.breaker = this.broken;
      if (this.draining && !this.stopping) result.drained = true;
    }
    return result;
  }

  /** End the process groups of runs whose converge was killed (recorded on the run, safe against pid reuse). */
  private async endOrphans(): Promise<void> {
    const orphans = await this.write('orphans', () => orphanRecords(this.o.db));
    await Promise.all(
      orphans.map(async (o) => {
        const outcome = await endOrphanGroup(o.record, { graceMs: this.o.graceMs ?? 5000 });
        this.o.onOrphan?.({ runId: o.runId, outcome });
      }),
    );
  }

  /** What one user run borrows from this execution. */
  private userHost(): UserRunHost {
    return {
      db: this.o.db,
      spec: this.o.spec,
      owner: this.o.owner,
      executor: this.o.executor!,
      timeoutSeconds: this.o.timeoutSeconds,
      runsDir: this.o.runsDir ?? 'runs',
      events: this.o.events,
      isStopping: () => this.stopping,
      write: (what, fn) => this.write(what, fn),
      giveUp: (why) => this.giveUp(why),
      track: (id, controller, lose) => {
        this.controllers.set(id, controller);
        this.losers.set(id, lose);
        return () => {
          this.controllers.delete(id);
          this.losers.delete(id);
        };
      },
    };
  }

  private async trainUser(run: ClaimedRun, result: ExecuteResult): Promise<void> {
    const device = this.freeDevices.pop();
    try {
      const end = await trainUserRun(this.userHost(), run, result, device);
      if (end) this.noteForBreaker(end);
    } finally {
      if (device !== undefined) this.freeDevices.push(device);
    }
  }

  /**
   * The breaker (wandb#5088: 470 of 500 runs failing overnight on one bad setting): when the
   * first k runs this execution finished all failed, claim no more; the runs in flight end.
   */
  private noteForBreaker(end: UserRunEnd): void {
    const k = this.o.breaker ?? 3;
    if (k <= 0 || this.firstEnds.length >= k) return;
    this.firstEnds.push(end);
    if (this.firstEnds.length < k || !this.firstEnds.every((e) => e.end.outcome === 'failed')) return;
    const last = end.end;
    // A command's error starts with its command line; a module's is its message and stack (the top of it is enough here).
    const lines = (last.error ?? 'failed').split('\n');
    const error = lines.length > 12 ? `${lines.slice(0, 12).join('\n')}\n…` : lines.join('\n');
    const command = end.commandLine !== undefined && !error.startsWith(end.commandLine) ? `\ncommand line: ${end.commandLine}` : '';
    this.broken = `the first ${k} runs all failed, so no more runs were started (--breaker ${k}; 0 turns it off). The last: run ${last.id} (seed ${last.seed}): ${error}${command}`;
  }

  /** The database refuses this runner's writes: stop claiming, stop the runs, report `why`. */
  private giveUp(why: string): void {
    if (this.databaseError) return;
    this.databaseError = why;
    this.stop();
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    }).finally(() => {
      this.wake = undefined;
    });
  }

  private async trainOne(run: ClaimedRun, result: ExecuteResult): Promise<void> {
    if (this.o.spec.trainer.kind !== 'builtin') return this.trainUser(run, result);
    const { db, spec } = this.o;
    const params = JSON.parse(run.paramsJson) as ResolvedParams;
    const request = toRequest(params, run.seed);
    const claim = { id: run.id, owner: this.o.owner };
    const controller = new AbortController();
    this.controllers.set(run.id, controller);
    // A write refused by the fence (or a heartbeat that no longer lists the run) means another
    // process holds it now: stop its work here, say so once, record nothing more.
    let lost = false;
    const loseClaim = () => {
      if (lost) return;
      lost = true;
      controller.abort();
      this.o.events?.onClaimLost?.({ id: run.id, seed: run.seed });
    };
    this.losers.set(run.id, loseClaim);
    let timedOut = false;
    const timer =
      this.o.timeoutSeconds > 0
        ? setTimeout(() => {
            timedOut = true;
            controller.abort();
          }, this.o.timeoutSeconds * 1000)
        : undefined;
    const t0 = performance.now();
    this.o.events?.onRunStart?.({ id: run.id, params, seed: run.seed, attempt: run.attempts });
    const recorded = new Set<number>();
    const released = () => (this.stopping && !timedOut) || lost;
    // Epochs are written in the order they arrive, one after another: a write that waits for the
    // lock holds the next ones back, and the run is finished only after the last one (epochWrites).
    let epochWrites = Promise.resolve();
    const onEpoch = (m: EpochMetrics) => {
      if (released()) return;
      epochWrites = epochWrites.then(async () => {
        if (released()) return;
        let held: boolean;
        try {
          held = await this.write('epoch', () => recordEpoch(db, claim, m));
        } catch (e) {
          return this.giveUp(`recording an epoch failed (${(e as Error).message})`);
        }
        if (released()) return; // given back while this write waited: not a lost claim
        if (!held) return loseClaim();
        recorded.add(m.epoch);
        this.o.events?.onEpoch?.(run.id, m);
      });
    };
    // What the worker trains on (fused-wasm-simd, fused-js, tfjs…) once it has chosen; until then
    // (a thread that died while starting) the engine the run asked for. A failed run records it too.
    let backend: string = request.engine;
    const onBackend = (b: string) => {
      backend = b;
    };
    let end: RunEnd;
    try {
      const res = await this.o.pool!.train(request, { onEpoch, onBackend }, controller.signal);
      const seconds = (performance.now() - t0) / 1000;
      await epochWrites;
      // Port messages may trail the result (pool.train closes the port with it), or were skipped
      // while stopping: the result carries every epoch, record what is missing.
      if (lost) return;
      const missing = res.epochs.filter((m) => !recorded.has(m.epoch));
      if (missing.length > 0) {
        await this.write('epochs', () =>
          db.transaction(() => {
            for (const m of missing) if (!recordEpoch(db, claim, m)) return loseClaim();
          })(),
        );
      }
      if (lost) return;
      if (res.ok) {
        // Scored from the epochs exactly as stored, so re-scoring them later gives the same outcome.
        const c = scoreRun(res.epochs.map(toScoredEpoch), { failure: null, outputActivation: request.model.outputActivation, aliveAtInit: res.summary.aliveAtInit }, spec.converged);
        const final = res.epochs[res.epochs.length - 1];
        const finish = {
          backend: res.summary.backend,
          outcome: c.outcome,
          aliveAtInit: res.summary.aliveAtInit,
          rule: spec.converged,
          final,
          convergedEpoch: c.convergedEpoch,
          epochsRun: res.summary.epochsRun,
          seconds,
        };
        if (!(await this.write('finish', () => finishRun(db, claim, finish)))) return loseClaim();
        end = { id: run.id, runKey: run.runKey, params, seed: run.seed, outcome: c.outcome, metric: spec.converged.metric, metricValue: c.value, seconds, backend: res.summary.backend, ...(res.summary.notice !== undefined ? { notice: res.summary.notice } : {}) };
      } else {
        const error = `${res.error.code}: ${res.error.message}`;
        if (res.backend !== undefined) backend = res.backend;
        if (!(await this.write('fail', () => failRun(db, claim, 'failed', error, seconds, backend)))) return loseClaim();
        end = { id: run.id, runKey: run.runKey, params, seed: run.seed, outcome: 'failed', metric: spec.converged.metric, metricValue: null, seconds, error: res.error.message, backend };
      }
    } catch (e) {
      const seconds = (performance.now() - t0) / 1000;
      if (released()) return; // released to pending by execute(), or another process holds it
      const message = timedOut
        ? `timed out after ${this.o.timeoutSeconds} s (--timeout)`
        : `worker died: ${(e as { code?: string }).code ? `${(e as { code?: string }).code}: ` : ''}${(e as Error).message}`;
      await epochWrites; // epochs_run counts them
      if (lost) return;
      if (!(await this.write('fail', () => failRun(db, claim, timedOut ? 'timed_out' : 'failed', message, seconds, backend)))) return loseClaim();
      end = { id: run.id, runKey: run.runKey, params, seed: run.seed, outcome: timedOut ? 'timed_out' : 'failed', metric: spec.converged.metric, metricValue: null, seconds, error: message, backend };
    } finally {
      if (timer) clearTimeout(timer);
      // No epoch write outlives its run (they skip themselves once the run is released or lost).
      await epochWrites;
      this.controllers.delete(run.id);
      this.losers.delete(run.id);
    }
    result.trained += 1;
    if (end.outcome === 'converged') result.converged += 1;
    if (end.outcome === 'failed' || end.outcome === 'timed_out') result.failed += 1;
    this.o.events?.onRunEnd?.(end);
  }
}

export type { PlanSync };
