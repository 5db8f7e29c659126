/**
 * Waiting for the write lock. SQLite lets one process write a database at a time; every other
 * writer gets SQLITE_BUSY once its connection's busy timeout runs out. A runner must never die of
 * that (two runners and a `status --watch` on one busy machine, issue 17 item 7): its writes go
 * through `retryWhileBusy`, which lets SQLite wait up to WRITE_ATTEMPT_MS per attempt, then gives
 * the event loop a turn (heartbeats, Ctrl-C) and tries again, for as long as the lock is held.
 * Every write is one statement or one transaction that SQLite rolled back when it threw, so
 * running it again is safe.
 */
import { appendFileSync } from 'node:fs';

/**
 * How long one attempt waits inside SQLite (a writer connection's busy timeout, store/open.ts).
 * Short, because SQLite's wait blocks the thread: between attempts the event loop runs.
 */
export const WRITE_ATTEMPT_MS = 1000;

/** A write that has waited this long says so (BusyOptions.onWait), and again every BUSY_NOTICE_EVERY_MS. */
export const BUSY_NOTICE_MS = 10_000;
export const BUSY_NOTICE_EVERY_MS = 60_000;

export interface BusyOptions {
  /** Told how long (seconds) a write has waited for the lock: past BUSY_NOTICE_MS, then every BUSY_NOTICE_EVERY_MS. */
  onWait?(seconds: number): void;
}

/** SQLITE_BUSY and its extended codes (_SNAPSHOT, _RECOVERY, _TIMEOUT): another connection holds a lock. */
export function isBusy(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

/** The pause before attempt `n + 1` (ms): growing to 250 ms, jittered so two waiters do not poll in step. */
function backoffMs(n: number): number {
  return Math.min(250, 10 * 2 ** n) * (0.5 + Math.random());
}

/** Run `write`; while another process holds the lock, wait and run it again (never gives up on SQLITE_BUSY). */
export async function retryWhileBusy<T>(what: string, write: () => T, o: BusyOptions = {}): Promise<T> {
  const wait = new Wait(what, o);
  for (;;) {
    const r = wait.attempt(write);
    if (r.done) return r.value;
    await new Promise((resolve) => setTimeout(resolve, backoffMs(wait.attempts)));
  }
}

/** retryWhileBusy for code that cannot yield (opening a database): sleeps the thread between attempts. */
export function retryWhileBusySync<T>(what: string, write: () => T, o: BusyOptions = {}): T {
  const wait = new Wait(what, o);
  for (;;) {
    const r = wait.attempt(write);
    if (r.done) return r.value;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, backoffMs(wait.attempts));
  }
}

class Wait {
  attempts = 0;
  private readonly t0 = performance.now();
  private noticeAt = BUSY_NOTICE_MS;

  constructor(
    private readonly what: string,
    private readonly o: BusyOptions,
  ) {}

  attempt<T>(write: () => T): { done: true; value: T } | { done: false } {
    const start = performance.now();
    try {
      const value = write();
      if (writeLog) writeLog.record(this.what, performance.now() - start, start - this.t0);
      return { done: true, value };
    } catch (e) {
      if (!isBusy(e)) throw e;
      this.attempts += 1;
      const waited = performance.now() - this.t0;
      if (waited >= this.noticeAt) {
        this.noticeAt = waited + BUSY_NOTICE_EVERY_MS;
        this.o.onWait?.(waited / 1000);
      }
      return { done: false };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// CONVERGE_WRITE_LOG=<file> (bench and tests): every write that goes through retryWhileBusy is
// timed, and at exit the process appends one JSON line per kind of write to <file>:
// {pid, what, count, maxMs, totalMs, maxWaitMs}. While it is set a writer connection's busy
// timeout is 0 (writerBusyTimeoutMs), so SQLite never waits inside an attempt: the time of the
// attempt that succeeds is the time the write held the lock, and waiting is all in maxWaitMs.

interface WriteStats {
  count: number;
  maxMs: number;
  totalMs: number;
  maxWaitMs: number;
}

class WriteLog {
  private readonly stats = new Map<string, WriteStats>();

  constructor(file: string) {
    process.once('exit', () => {
      const lines = [...this.stats].map(([what, s]) => JSON.stringify({ pid: process.pid, what, ...s }));
      if (lines.length > 0) appendFileSync(file, `${lines.join('\n')}\n`);
    });
  }

  record(what: string, heldMs: number, waitedMs: number): void {
    let s = this.stats.get(what);
    if (!s) this.stats.set(what, (s = { count: 0, maxMs: 0, totalMs: 0, maxWaitMs: 0 }));
    s.count += 1;
    s.totalMs += heldMs;
    s.maxMs = Math.max(s.maxMs, heldMs);
    s.maxWaitMs = Math.max(s.maxWaitMs, waitedMs);
  }
}

const writeLog = process.env.CONVERGE_WRITE_LOG ? new WriteLog(process.env.CONVERGE_WRITE_LOG) : undefined;

/** The busy timeout of a writer connection: WRITE_ATTEMPT_MS, or 0 under CONVERGE_WRITE_LOG (see above). */
export function writerBusyTimeoutMs(): number {
  return writeLog ? 0 : WRITE_ATTEMPT_MS;
}
