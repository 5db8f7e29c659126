import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { converge, oneLine, sandbox, start, writeSpec, type Finished } from './harness';

/** Two cells (batch_size 1 and 2) of three paired seeds: enough for report, query and compare. */
const SPEC = ['name: ro', 'seed: 1', 'repeats: 3', 'data: {seq_len: 20, n_samples: 20}', 'train: {epochs: 5}', 'grid:', '  batch_size: [1, 2]', ''].join('\n');

/** The read-only commands, each as a user types it in the folder of the database. */
const READERS: string[][] = [
  ['status', 'ro.db'],
  ['status', 'ro.db', '--json'],
  ['status', 'ro.db', '--watch'],
  ['report', 'ro.db'],
  ['report', 'ro.db', '--format', 'json'],
  ['query', 'ro.db', '--where', 'status=done', '--format', 'csv'],
  ['query', 'ro.db', '--sql', 'select batch_size, count(*) as n, sum(outcome = \'converged\') as k from epochs join runs on runs.id = run_id group by 1'],
  ['compare', 'ro.db', '--a', 'batch_size=1', '--b', 'batch_size=2'],
];

/** A finished sweep in `<dir>/data/ro.db`. */
async function finishedSweep(t: TestContext): Promise<{ dir: string; data: string; db: string }> {
  const dir = sandbox(t);
  const data = join(dir, 'data');
  mkdirSync(data);
  writeSpec(dir, 'ro.yaml', SPEC);
  const r = await converge(t, dir, ['run', 'ro.yaml', '--db', 'data/ro.db', '--workers', '2', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  return { dir, data, db: join(data, 'ro.db') };
}

/** Files SQLite keeps beside a database in WAL mode. */
function sidecars(folder: string): string[] {
  return readdirSync(folder).filter((f) => /-(wal|shm|journal)$/.test(f));
}

/** Every reader, run in `cwd`: code, stdout and stderr of each. */
async function readAll(t: TestContext, cwd: string): Promise<Pick<Finished, 'code' | 'stdout' | 'stderr'>[]> {
  const out = [];
  for (const args of READERS) {
    const r = await converge(t, cwd, args);
    out.push({ code: r.code, stdout: r.stdout, stderr: r.stderr });
  }
  return out;
}

/**
 * `fn` with `folder` also visible read-only at `<folder>-ro`: a real read-only bind mount (root
 * ignores file modes, a read-only mount it cannot write through), unmounted whatever happens.
 */
async function withReadOnlyMount<T>(folder: string, fn: (mounted: string) => Promise<T>): Promise<T> {
  const mounted = `${folder}-ro`;
  mkdirSync(mounted);
  execFileSync('mount', ['--bind', folder, mounted]);
  try {
    execFileSync('mount', ['-o', 'remount,ro,bind', mounted]);
    assert.throws(() => writeFileSync(join(mounted, 'probe'), ''), { code: 'EROFS' }, 'the mount is read-only');
    return await fn(mounted);
  } finally {
    execFileSync('umount', [mounted]);
  }
}

test('report, status, query and compare on a finished database in a read-only folder print what they print on the writable original, and leave no -wal or -shm files', { timeout: 120_000 }, async (t) => {
  const { data } = await finishedSweep(t);
  assert.deepEqual(sidecars(data), [], 'the finished run left the database self-contained');
  const original = await readAll(t, data);
  for (const [i, r] of original.entries()) assert.equal(r.code, 0, `${READERS[i]!.join(' ')}: ${r.stderr}`);
  assert.deepEqual(sidecars(data), [], 'reading in a writable folder leaves nothing beside the database');
  await withReadOnlyMount(data, async (ro) => {
    const mounted = await readAll(t, ro);
    for (const [i, r] of mounted.entries()) assert.deepEqual(r, original[i], `${READERS[i]!.join(' ')} in the read-only folder`);
  });
  assert.deepEqual(sidecars(data), []);
});

test('a database an older converge left in WAL mode reads the same in a read-only folder, and reading it in a writable one leaves no -wal or -shm files', { timeout: 120_000 }, async (t) => {
  const { data, db } = await finishedSweep(t);
  const original = await readAll(t, data);
  // What converge did before it switched a finished database back to rollback mode: WAL in the
  // header, the -wal folded in and removed by the last connection to close.
  const old = new Database(db);
  assert.equal(old.pragma('journal_mode = WAL', { simple: true }), 'wal');
  old.close();
  assert.deepEqual(sidecars(data), []);
  assert.equal(readFileSync(db)[18], 2, 'the header says WAL');
  assert.deepEqual(await readAll(t, data), original, 'the same output in the writable folder');
  assert.deepEqual(sidecars(data), [], 'and nothing left beside it');
  await withReadOnlyMount(data, async (ro) => {
    assert.deepEqual(await readAll(t, ro), original, 'the same output in the read-only folder');
  });
});

test('a database with writes still in its -wal file, in a read-only folder without its -shm, is refused in one line that names the next step', { timeout: 120_000 }, async (t) => {
  const { dir, db } = await finishedSweep(t);
  const copy = join(dir, 'copy');
  mkdirSync(copy);
  // A writer with a page in its WAL (as a killed `converge run` leaves it), copied without the -shm.
  const w = new Database(db);
  w.pragma('journal_mode = WAL');
  w.pragma('wal_autocheckpoint = 0');
  w.prepare(`UPDATE sweep SET updated_at = updated_at`).run();
  copyFileSync(db, join(copy, 'ro.db'));
  copyFileSync(`${db}-wal`, join(copy, 'ro.db-wal'));
  w.close();
  await withReadOnlyMount(copy, async (ro) => {
    for (const args of [['status', 'ro.db'], ['report', 'ro.db']]) {
      const r = await converge(t, ro, args);
      assert.equal(r.code, 3, r.stderr);
      assert.match(oneLine(r.stderr), /^converge: ro\.db: has writes still in its -wal file, .* read-only folder .*; copy the database with its -wal file to a writable folder and read the copy \[store\.readOnlyWal\]$/);
    }
  });
  // The next step it names works.
  const again = join(dir, 'again');
  mkdirSync(again);
  for (const f of ['ro.db', 'ro.db-wal']) copyFileSync(join(copy, f), join(again, f));
  const r = await converge(t, again, ['status', 'ro.db']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /6\/6 runs done/);
});

test('a run watched by `status --watch` to its end leaves its database self-contained: rollback mode, no -wal or -shm, readable in a read-only folder', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  const data = join(dir, 'data');
  mkdirSync(data);
  writeSpec(dir, 'ro.yaml', SPEC);
  // Each run held 400 ms before it trains (numbers unchanged), so the watch sees the sweep live.
  const writer = start(t, dir, ['run', 'ro.yaml', '--db', 'data/ro.db', '--workers', '2', '--quiet'], { CONVERGE_FAULT: 'slow:400' });
  while (!existsSync(join(data, 'ro.db-wal'))) await new Promise((r) => setTimeout(r, 20));
  const watch = start(t, data, ['status', 'ro.db', '--watch', '--json']);
  const [w, s] = await Promise.all([writer.finished, watch.finished]);
  assert.equal(w.code, 0, w.stderr);
  assert.equal(s.code, 0, s.stderr);
  const frames = s.stdout.trim().split('\n').map((l) => JSON.parse(l) as { done: number; total: number });
  assert.ok(frames.some((f) => f.done < f.total), `the watch saw the sweep in progress: ${s.stdout}`);
  assert.equal(frames.at(-1)!.done, 6);
  assert.deepEqual(sidecars(data), [], 'no -wal or -shm left by the runner or the watch');
  assert.equal(readFileSync(join(data, 'ro.db'))[18], 1, 'the header says rollback mode');
  await withReadOnlyMount(data, async (ro) => {
    const r = await converge(t, ro, ['status', 'ro.db']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /6\/6 runs done/);
  });
});
