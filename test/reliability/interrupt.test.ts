import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { converge, integrity, planKeys, readRuns, sandbox, slowSpec, start, waitForDb, writeSpec, type RunRow } from './harness';

const inFlightWithEpochs = (d: Database.Database) =>
  (d.prepare(`SELECT count(*) FROM runs r WHERE status = 'running' AND EXISTS (SELECT 1 FROM epochs e WHERE e.run_id = r.id)`).pluck().get() as number) >= 1;

function assertConsistent(rows: RunRow[], epochs: number): void {
  for (const r of rows) {
    if (r.status === 'done') assert.equal(r.recorded, epochs, `done run ${r.id} has all its epochs`);
    if (r.status === 'pending') assert.equal(r.recorded, 0, `pending run ${r.id} keeps no partial epochs`);
    assert.notEqual(r.status, 'failed', `run ${r.id} was not recorded as failed by the interrupt`);
  }
}

test('Ctrl-C stops the runs in flight, leaves no run running and no partial epochs, exits 130 and says how to resume', { timeout: 90_000 }, async (t) => {
  const dir = sandbox(t);
  const spec = writeSpec(dir, 'int.yaml', slowSpec('int'));
  const db = join(dir, 'int.db');
  const args = ['run', spec, '--db', 'int.db', '--workers', '2'];

  const child = start(t, dir, args);
  await waitForDb(db, 'a run in flight with epochs recorded', inFlightWithEpochs);
  child.process.kill('SIGINT');
  const r = await child.finished;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /Resume with: converge run int\.yaml --db int\.db --workers 2\n/, 'the hint repeats the command with all its options');

  const rows = readRuns(db);
  assert.ok(rows.every((x) => x.status !== 'running'), 'no run is left running');
  assert.ok(rows.some((x) => x.status === 'pending'), 'the interrupt landed mid-sweep');
  assertConsistent(rows, 30);
  assert.equal(integrity(db), 'ok');

  const resumed = await converge(t, dir, [...args, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const after = readRuns(db);
  assert.deepEqual(after.map((x) => x.run_key).sort(), planKeys(dir, spec));
  assert.ok(after.every((x) => x.status === 'done' && x.recorded === 30));
  for (const d of rows.filter((x) => x.status === 'done')) {
    assert.equal(after.find((x) => x.id === d.id)?.finished_at, d.finished_at, `done run ${d.id} was not retrained`);
  }
});

test('a second Ctrl-C stops at once and still leaves a consistent database that the same command completes', { timeout: 90_000 }, async (t) => {
  const dir = sandbox(t);
  const spec = writeSpec(dir, 'int2.yaml', slowSpec('int2'));
  const db = join(dir, 'int2.db');
  const args = ['run', spec, '--db', 'int2.db', '--workers', '2'];

  const child = start(t, dir, args);
  await waitForDb(db, 'a run in flight with epochs recorded', inFlightWithEpochs);
  // The first Ctrl-C normally stops within milliseconds, too fast to press again. Another
  // writer holding the database's write lock blocks the child on its next epoch write, so both
  // presses are queued and reach it back to back, as when a user hammers Ctrl-C.
  const blocker = new Database(db, { timeout: 10_000 });
  t.after(() => blocker.close());
  blocker.prepare('BEGIN IMMEDIATE').run();
  try {
    await sleep(300); // epochs arrive every few ms: by now the child waits on the lock
    child.process.kill('SIGINT');
    await sleep(300);
    assert.doesNotMatch(child.stderr(), /interrupted/, 'the child is blocked, so the first Ctrl-C is still queued');
    child.process.kill('SIGINT');
    await sleep(300);
  } finally {
    blocker.prepare('COMMIT').run();
  }
  const r = await child.finished;
  assert.equal(r.code, 130, r.stderr);
  assert.match(r.stderr, /stopped at once; resume with: converge run int2\.yaml --db int2\.db --workers 2\n/);
  assert.equal(integrity(db), 'ok');
  const rows = readRuns(db);
  assert.ok(rows.some((x) => x.status !== 'done'), 'the second Ctrl-C landed mid-sweep');
  for (const x of rows.filter((y) => y.status === 'done')) assert.equal(x.recorded, 30, `done run ${x.id} has all its epochs`);

  const resumed = await converge(t, dir, [...args, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const after = readRuns(db);
  assert.deepEqual(after.map((x) => x.run_key).sort(), planKeys(dir, spec));
  assert.ok(after.every((x) => x.status === 'done' && x.recorded === 30), 'resume completed every run with exactly its epochs');
  assert.equal(integrity(db), 'ok');
});
