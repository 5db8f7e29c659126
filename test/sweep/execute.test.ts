import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { expandPlan } from '../../src/grid';
import { TrainPool } from '../../src/pool/pool';
import { parseSpec } from '../../src/spec';
import { openDb, syncPlan } from '../../src/store';
import { MAX_FAILED_HEARTBEATS, SweepExecution } from '../../src/sweep/execute';
import { ROOT, tempDir } from '../helpers';

/** Hold the database's write lock from another process until it is told to let go. */
function holdWriteLock(file: string) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const db = new (require('better-sqlite3'))(process.argv[1]); db.prepare('BEGIN IMMEDIATE').run(); process.stdout.write('locked\\n');
       process.stdin.on('data', () => { db.prepare('COMMIT').run(); db.close(); process.exit(0); });`,
      file,
    ],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const locked = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return { locked, release: () => child.stdin.write('go\n'), exited: new Promise((r) => child.on('exit', r)) };
}

/** A new database holding the plan of sweep `name` (`yaml`: the spec after its name and seed). */
function plannedDb(name: string, yaml: string) {
  const file = join(tempDir(), `${name}.db`);
  const spec = parseSpec(`name: ${name}\nseed: 1\n${yaml}`, `${name}.yaml`);
  const db = openDb(file);
  syncPlan(db, file, spec, expandPlan(spec));
  return { db, file, spec };
}

test(`after ${MAX_FAILED_HEARTBEATS} failed heartbeats in a row a runner stops claiming, stops its runs and says why`, { timeout: 60_000 }, async () => {
  const { db, spec } = plannedDb('hb', 'repeats: 4\ndata: {seq_len: 20, n_samples: 20}\ntrain: {epochs: 2}\n');
  // Every run hangs in its worker (a real thread, busy), so nothing but the heartbeat touches the database.
  const saved = process.env.CONVERGE_FAULT;
  process.env.CONVERGE_FAULT = 'hang';
  const pool = new TrainPool({ workers: 1 });
  process.env.CONVERGE_FAULT = saved ?? '';
  try {
    const execution = new SweepExecution({ db, spec, pool, owner: 'me', retries: 0, timeoutSeconds: 0, leaseSeconds: 0.4 });
    const claimedBeforeLock = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if ((db.prepare(`SELECT count(*) FROM runs WHERE status = 'running'`).pluck().get() as number) === 1) {
          clearInterval(check);
          resolve();
        }
      }, 10);
    });
    const running = execution.execute();
    await claimedBeforeLock;
    const claimsBefore = db.prepare(`SELECT sum(attempts) FROM runs`).pluck().get();
    // Only now, so the first claim was not refused. The database refuses every write from here
    // on (a lock that is merely busy is waited for instead: the next tests).
    db.pragma('query_only = ON');
    const result = await running; // returns on its own: the runner gave up
    assert.match(result.databaseFailed ?? '', new RegExp(`^${MAX_FAILED_HEARTBEATS} heartbeats in a row failed \\(attempt to write a readonly database\\)`));
    assert.equal(result.interrupted, true);
    assert.equal(result.trained, 0);
    db.pragma('query_only = OFF');
    assert.equal(db.prepare(`SELECT sum(attempts) FROM runs`).pluck().get(), claimsBefore, 'no run was claimed after the heartbeats failed');
  } finally {
    await pool.destroy();
    db.close();
  }
});

test('an epoch the database refuses to record stops the runner with the reason instead of crashing the process', { timeout: 60_000 }, async () => {
  const { db, spec } = plannedDb('ep', 'repeats: 2\ndata: {seq_len: 20, n_samples: 20}\ntrain: {epochs: 100000}\n');
  const pool = new TrainPool({ workers: 1 });
  try {
    // The default 30 s lease: no heartbeat falls in this test, only epoch writes are refused.
    const execution = new SweepExecution({ db, spec, pool, owner: 'me', retries: 0, timeoutSeconds: 0 });
    const running = execution.execute();
    while ((db.prepare(`SELECT count(*) FROM epochs`).pluck().get() as number) < 1) await new Promise((r) => setTimeout(r, 10));
    db.pragma('query_only = ON');
    const result = await running;
    assert.match(result.databaseFailed ?? '', /^recording an epoch failed \(attempt to write a readonly database\)/);
    assert.equal(result.interrupted, true);
    assert.equal(result.trained, 0);
  } finally {
    await pool.destroy();
    db.close();
  }
});

test('a runner whose database another process keeps locked past the busy timeout waits for the lock and trains every run', { timeout: 60_000 }, async () => {
  const { db, file, spec } = plannedDb('wait', 'repeats: 4\ndata: {seq_len: 20, n_samples: 20}\ntrain: {epochs: 20}\n');
  // Each attempt gives up inside SQLite after 50 ms (as a 15 s timeout would on a long hold), so
  // every kind of write (epoch, finish, claim, the heartbeat every second) meets the lock many times over.
  db.pragma('busy_timeout = 50');
  // Each run waits 1 s in its worker before it trains (CONVERGE_FAULT=slow, numbers unchanged):
  // the lock is taken while both workers hold a run, whose epochs and end then arrive under it.
  const saved = process.env.CONVERGE_FAULT;
  process.env.CONVERGE_FAULT = 'slow:1000';
  const pool = new TrainPool({ workers: 2 });
  process.env.CONVERGE_FAULT = saved ?? '';
  let lock: ReturnType<typeof holdWriteLock> | undefined;
  const waits: number[] = [];
  try {
    const execution = new SweepExecution({ db, spec, pool, owner: 'me', retries: 0, timeoutSeconds: 0, leaseSeconds: 4, events: { onLockWait: (s) => waits.push(s) } });
    const running = execution.execute();
    const held = () => db.prepare(`SELECT count(*) FROM runs WHERE status = 'running'`).pluck().get() as number;
    while (held() < 2) await new Promise((r) => setTimeout(r, 10));
    lock = holdWriteLock(file);
    await lock.locked;
    assert.ok(held() >= 1, 'runs are in flight under the lock');
    await new Promise((r) => setTimeout(r, 2000)); // 40 attempts' worth of busy timeouts
    lock.release();
    await lock.exited;
    const result = await running;
    assert.equal(result.databaseFailed, undefined);
    assert.equal(result.interrupted, false);
    assert.equal(result.trained, 4);
    assert.equal(db.prepare(`SELECT count(*) FROM runs WHERE status = 'done' AND attempts = 1`).pluck().get(), 4);
    assert.equal(db.prepare(`SELECT count(*) FROM epochs`).pluck().get(), 4 * 20, 'every epoch of every run recorded once');
    assert.deepEqual(waits, [], 'a wait of 2 s is not announced (only past BUSY_NOTICE_MS)');
  } finally {
    lock?.release();
    await pool.destroy();
    db.close();
  }
});
