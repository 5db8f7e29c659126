import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { converge, integrity, readRuns, sandbox, start, waitFor, withDb, writeSpec } from './harness';

/** A child process that keeps one core busy until the test ends: one per core saturates the machine. */
function burnEveryCore(t: TestContext): void {
  for (let i = 0; i < availableParallelism(); i++) {
    const burner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    t.after(() => {
      burner.kill('SIGKILL');
    });
  }
}

/** Another process takes the write lock of `file` and holds it for `ms`; resolves once it holds it. */
function holdWriteLock(t: TestContext, file: string, ms: number): Promise<void> {
  const sqlite = JSON.stringify(require.resolve('better-sqlite3'));
  const holder = spawn(
    process.execPath,
    ['-e', `const db = new (require(${sqlite}))(process.argv[1]); db.prepare('BEGIN IMMEDIATE').run(); process.stdout.write('locked\\n'); setTimeout(() => { db.prepare('COMMIT').run(); db.close(); }, ${ms});`, file],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  t.after(() => {
    holder.kill('SIGKILL');
  });
  return new Promise((resolve) => holder.stdout.once('data', () => resolve()));
}

const SMALL = ['name: busy', 'seed: 1', 'repeats: 4', 'data: {seq_len: 20, n_samples: 20}', 'train: {epochs: 5}', 'grid:', '  batch_size: [1, 2]', ''].join('\n');

test('two runners and a `status --watch` on one new database, beside a CPU burner on every core, finish every run, 20 times in a row', { timeout: 300_000 }, async (t) => {
  const root = sandbox(t);
  burnEveryCore(t);
  const t0 = Date.now();
  for (let rep = 1; rep <= 20; rep++) {
    const dir = join(root, String(rep));
    mkdirSync(dir);
    writeSpec(dir, 'busy.yaml', SMALL);
    const db = join(dir, 'busy.db');
    // Both start at once on a file that does not exist yet: they create and migrate it in a race.
    const args = ['run', 'busy.yaml', '--db', 'busy.db', '--workers', '1', '--quiet'];
    const [a, b] = [start(t, dir, args), start(t, dir, args)];
    await waitFor('the sweep to be recorded', () => existsSync(db) && withDb(db, (d) => d.prepare(`SELECT count(*) FROM sweep`).pluck().get() === 1));
    const watch = start(t, dir, ['status', 'busy.db', '--watch']);
    const ends = await Promise.all([a.finished, b.finished]);
    const w = await watch.finished;
    for (const r of ends) assert.equal(r.code, 0, `repetition ${rep}: ${r.stderr}`);
    assert.equal(w.code, 0, `repetition ${rep}: status --watch: ${w.stderr}`);
    const runs = readRuns(db);
    assert.equal(runs.length, 8);
    assert.ok(runs.every((r) => r.status === 'done' && r.attempts === 1 && r.recorded === 5), `repetition ${rep}: every run done once`);
    assert.equal(integrity(db), 'ok');
  }
  t.diagnostic(`20 repetitions in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
});

test('a runner whose database another process keeps locked for 16 s (past the old 15 s busy timeout) waits, says so on stderr, and trains every run', { timeout: 90_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'busy.yaml', SMALL);
  const first = await converge(t, dir, ['run', 'busy.yaml', '--db', 'busy.db', '--set', 'repeats=1', '--quiet']);
  assert.equal(first.code, 0, first.stderr);
  const db = join(dir, 'busy.db');
  await holdWriteLock(t, db, 16_000);
  const t0 = Date.now();
  const r = await converge(t, dir, ['run', 'busy.yaml', '--db', 'busy.db', '--workers', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - t0 >= 16_000, 'it waited for the lock');
  assert.match(r.stderr, /^waiting for the database lock held by another process \(1\d s\)$/m);
  assert.equal(r.stderr.match(/waiting for the database lock/g)?.length, 1, 'one line, not one per write');
  assert.match(r.stdout, /8\/8 done, 0 failed/);
  assert.ok(readRuns(db).every((x) => x.status === 'done'));
});
