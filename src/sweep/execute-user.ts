import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { scoreUserRun, type ScoredEpoch } from '../outcome';
import type { ResolvedParams, SweepSpec } from '../spec';
import type { ClaimedRun, Db } from '../store';
import type { ProcessRecord } from '../trainer/process-group';
import type { Executor, JobResult, ReportedEpoch } from '../trainer/types';
import type { ExecuteEvents, ExecuteResult, RunEnd } from './execute';
import { failUserRun, finishUserRun, recordRunProcess, recordUserEpoch } from '../store';

/**
 * One run of a user's own trainer (module or command, issue 18), from claim to its last write.
 * The same fencing as the built-in path (execute.ts trainOne): every write is conditional on the
 * claim, a refused write means another process holds the run now, and a run stopped by Ctrl-C,
 * SIGTERM or a lost claim writes nothing more (the runner gives it back to pending).
 */

/** What SweepExecution lends one user run. */
export interface UserRunHost {
  db: Db;
  spec: SweepSpec;
  owner: string;
  executor: Executor;
  timeoutSeconds: number;
  /** `<db path>.runs`: each attempt gets `<run id>-<attempt>/` in it. */
  runsDir: string;
  events: ExecuteEvents | undefined;
  isStopping(): boolean;
  write<T>(what: string, fn: () => T): Promise<T>;
  giveUp(why: string): void;
  /** Register the run's stop and lose-claim hooks (removed again by the returned function). */
  track(runId: number, controller: AbortController, lose: () => void): () => void;
}

/** A finished user run, as the breaker sees it. */
export interface UserRunEnd {
  end: RunEnd;
  /** The command line or module that ran, for the breaker's message. */
  commandLine?: string;
}

export function toUserScoredEpoch(e: ReportedEpoch): ScoredEpoch {
  return { epoch: e.epoch, loss: null, mae: null, valLoss: null, valMae: null, popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null, extra: e.metrics };
}

export async function trainUserRun(host: UserRunHost, run: ClaimedRun, result: ExecuteResult, device: string | undefined): Promise<UserRunEnd | undefined> {
  const { db, spec } = host;
  const params = JSON.parse(run.paramsJson) as Record<string, number | string | boolean>;
  const claim = { id: run.id, owner: host.owner };
  const controller = new AbortController();
  let lost = false;
  const loseClaim = () => {
    if (lost) return;
    lost = true;
    controller.abort();
    host.events?.onClaimLost?.({ id: run.id, seed: run.seed });
  };
  const untrack = host.track(run.id, controller, loseClaim);
  let timedOut = false;
  const timer =
    host.timeoutSeconds > 0
      ? setTimeout(() => {
          timedOut = true;
          controller.abort(new Error(`timed out after ${host.timeoutSeconds} s (--timeout)`));
        }, host.timeoutSeconds * 1000)
      : undefined;
  const t0 = performance.now();
  host.events?.onRunStart?.({ id: run.id, params: params as unknown as ResolvedParams, seed: run.seed, attempt: run.attempts });
  const released = () => (host.isStopping() && !timedOut) || lost;
  const recorded = new Set<number>();
  // Writes in arrival order, one after another (as the built-in path does): the process record
  // first, then each epoch; the run finishes only after the last of them.
  let writes = Promise.resolve();
  const enqueue = (what: string, fn: () => boolean, done?: () => void) => {
    if (released()) return;
    writes = writes.then(async () => {
      if (released()) return;
      let held: boolean;
      try {
        held = await host.write(what, fn);
      } catch (e) {
        return host.giveUp(`recording ${what} failed (${(e as Error).message})`);
      }
      if (released()) return;
      if (!held) return loseClaim();
      done?.();
    });
  };
  const onEpoch = (e: ReportedEpoch) => {
    const seconds = (performance.now() - t0) / 1000;
    enqueue('an epoch', () => recordUserEpoch(db, claim, e, seconds), () => recorded.add(e.epoch));
  };
  const onProcess = (p: ProcessRecord) => enqueue("the run's process", () => recordRunProcess(db, claim, p));
  // Absolute: a command runs in its sweep file's folder, so a folder relative to converge's own
  // working directory (a relative --db) would name another place, or none, for the trainer.
  const runDir = resolve(host.runsDir, `${run.id}-${run.attempts}`);
  // Fresh for this attempt: an attempt given back (Ctrl-C) left its files under the same name.
  rmSync(runDir, { recursive: true, force: true });
  const job = { runId: run.id, seed: run.seed, params, runDir, ...(device !== undefined ? { device } : {}) };
  const base = { id: run.id, runKey: run.runKey, params: params as unknown as ResolvedParams, seed: run.seed, metric: spec.converged.metric };
  const where = { ...(device !== undefined ? { device } : {}) };
  let end: UserRunEnd;
  try {
    const res: JobResult = await host.executor.train(job, { onEpoch, onProcess }, controller.signal);
    const seconds = (performance.now() - t0) / 1000;
    await writes;
    if (lost) return undefined;
    // Epochs that trailed the result, or were skipped while a write waited: the result has them all.
    const missing = res.epochs.filter((e) => !recorded.has(e.epoch));
    if (missing.length > 0) {
      const held = await host.write('epochs', () => db.transaction(() => missing.every((e) => recordUserEpoch(db, claim, e, seconds)))());
      if (!held) return void loseClaim();
    }
    const extra = { code: { commandLine: res.commandLine, ...(res.codeHash !== undefined ? { codeHash: res.codeHash } : {}) }, ...(res.outputTail !== undefined ? { outputTail: res.outputTail } : {}), ...(res.logPath !== undefined ? { logPath: res.logPath } : {}), ...where };
    if (res.ok) {
      const score = scoreUserRun(res.epochs.map(toUserScoredEpoch), spec.converged);
      const outcome = score.outcome ?? 'no_metric';
      const finish = { outcome, convergedEpoch: score.convergedEpoch, epochsRun: res.epochs.length, seconds, rule: spec.converged, ...extra };
      if (!(await host.write('finish', () => finishUserRun(db, claim, finish)))) return void loseClaim();
      end = { end: { ...base, outcome, metricValue: score.value, seconds }, commandLine: res.commandLine };
    } else {
      const message = res.error.message;
      if (!(await host.write('fail', () => failUserRun(db, claim, 'failed', message, seconds, extra)))) return void loseClaim();
      end = { end: { ...base, outcome: 'failed', metricValue: null, seconds, error: message }, commandLine: res.commandLine };
    }
  } catch (e) {
    const seconds = (performance.now() - t0) / 1000;
    await writes;
    if (released()) return undefined;
    const message = timedOut ? `timed out after ${host.timeoutSeconds} s (--timeout)` : `the trainer's worker died: ${(e as Error).message}`;
    if (!(await host.write('fail', () => failUserRun(db, claim, timedOut ? 'timed_out' : 'failed', message, seconds, where)))) return void loseClaim();
    end = { end: { ...base, outcome: timedOut ? 'timed_out' : 'failed', metricValue: null, seconds, error: message } };
  } finally {
    if (timer) clearTimeout(timer);
    await writes;
    untrack();
  }
  result.trained += 1;
  if (end.end.outcome === 'converged') result.converged += 1;
  if (end.end.outcome === 'failed' || end.end.outcome === 'timed_out') result.failed += 1;
  host.events?.onRunEnd?.(end.end);
  return end;
}
