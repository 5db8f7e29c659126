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

test(`after ${MAX_FAILED_HEARTBEATS} failed heartbeats in a row a runner stops claiming, stops its runs and says why`, { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'hb.db');
  const spec = parseSpec('name: hb\nseed: 1\nrepeats: 4\ndata: {seq_len: 20, n_samples: 20}\ntrain: {epochs: 2}\n', 'hb.yaml');
  const db = openDb(file);
  syncPlan(db, file, spec, expandPlan(spec));
  // A short busy timeout so each heartbeat fails quickly while another process holds the lock.
  db.pragma('busy_timeout = 50');
  // Every run hangs in its worker (a real thread, busy), so nothing but the heartbeat touches the database.
  const saved = process.env.CONVERGE_FAULT;
  process.env.CONVERGE_FAULT = 'hang';
  const pool = new TrainPool({ workers: 1 });
  process.env.CONVERGE_FAULT = saved ?? '';
  let lock: ReturnType<typeof holdWriteLock> | undefined;
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
    lock = holdWriteLock(file); // only now, so the first claim was not refused
    await lock.locked;
    const result = await running; // returns on its own: the runner gave up
    assert.match(result.databaseFailed ?? '', new RegExp(`^${MAX_FAILED_HEARTBEATS} heartbeats in a row failed \\(database is locked\\)`));
    assert.equal(result.interrupted, true);
    assert.equal(result.trained, 0);
    lock.release();
    await lock.exited;
    assert.equal(db.prepare(`SELECT sum(attempts) FROM runs`).pluck().get(), claimsBefore, 'no run was claimed after the heartbeats failed');
  } finally {
    lock?.release();
    await pool.destroy();
    db.close();
  }
});

test('an epoch the database refuses to record stops the runner with the reason instead of crashing the process', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'ep.db');
  const spec = parseSpec('name: ep\nseed: 1\nrepeats: 2\ndata: {seq_len: 20, n_samples: 20}\ntrain: {epochs: 100000}\n', 'ep.yaml');
  const db = openDb(file);
  syncPlan(db, file, spec, expandPlan(spec));
  db.pragma('busy_timeout = 50');
  const pool = new TrainPool({ workers: 1 });
  let lock: ReturnType<typeof holdWriteLock> | undefined;
  try {
    // The default 30 s lease: no heartbeat falls in this test, only epoch writes meet the lock.
    const execution = new SweepExecution({ db, spec, pool, owner: 'me', retries: 0, timeoutSeconds: 0 });
    const running = execution.execute();
    while ((db.prepare(`SELECT count(*) FROM epochs`).pluck().get() as number) < 1) await new Promise((r) => setTimeout(r, 10));
    lock = holdWriteLock(file);
    await lock.locked;
    const result = await running;
    assert.match(result.databaseFailed ?? '', /^recording an epoch failed \(database is locked\)/);
    assert.equal(result.interrupted, true);
    assert.equal(result.trained, 0);
  } finally {
    lock?.release();
    await pool.destroy();
    db.close();
  }
});
