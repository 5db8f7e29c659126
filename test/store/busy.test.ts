import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { isBusy, retryWhileBusy, retryWhileBusySync } from '../../src/store';
import { ROOT, tempDir } from '../helpers';

/** Another process takes the write lock of `file` and lets go after `ms`. */
function lockFor(file: string, ms: number): Promise<void> {
  const child = spawn(
    process.execPath,
    ['-e', `const db = new (require('better-sqlite3'))(process.argv[1]); db.prepare('BEGIN IMMEDIATE').run(); process.stdout.write('locked\\n'); setTimeout(() => { db.prepare('COMMIT').run(); process.exit(0); }, ${ms});`, file],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return new Promise((resolve) => child.stdout.once('data', () => resolve()));
}

function database(): { file: string; db: Database.Database } {
  const file = join(tempDir(), 'busy.db');
  const db = new Database(file, { timeout: 50 });
  db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE t (x INTEGER)');
  return { file, db };
}

test("a write that meets another process's lock past its busy timeout is run again until it gets the lock", async () => {
  const { file, db } = database();
  await lockFor(file, 600);
  const insert = () => db.prepare('INSERT INTO t VALUES (1)').run().changes;
  assert.throws(insert, (e: unknown) => isBusy(e), 'the plain write gives up after 50 ms');
  assert.equal(await retryWhileBusy('insert', insert), 1);
  await lockFor(file, 600);
  assert.equal(retryWhileBusySync('insert', insert), 1);
  assert.equal(db.prepare('SELECT count(*) FROM t').pluck().get(), 2, 'each write ran once');
  db.close();
});

test('a write that fails for another reason than a busy lock is not run again', async () => {
  const { db } = database();
  let calls = 0;
  const bad = () => {
    calls += 1;
    return db.prepare('INSERT INTO missing VALUES (1)').run();
  };
  await assert.rejects(retryWhileBusy('bad', bad), /no such table: missing/);
  assert.throws(() => retryWhileBusySync('bad', bad), /no such table: missing/);
  assert.equal(calls, 2);
  db.close();
});
