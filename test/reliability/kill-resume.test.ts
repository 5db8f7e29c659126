import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, integrity, planKeys, readRuns, sandbox, slowSpec, start, waitForDb, writeSpec } from './harness';

test('kill -9 mid-sweep, then the same command again resumes: done runs are kept, runs in flight are redone, none lost or duplicated', { timeout: 90_000 }, async (t) => {
  const dir = sandbox(t);
  const spec = writeSpec(dir, 'kill.yaml', slowSpec('kill'));
  const db = join(dir, 'kill.db');
  const args = ['run', spec, '--db', 'kill.db', '--workers', '2', '--quiet'];

  const first = start(t, dir, args);
  // Kill once some runs are done and another one is part-way through its epochs.
  await waitForDb(db, 'two done runs and one run in flight with epochs recorded', (d) => {
    const done = d.prepare(`SELECT count(*) FROM runs WHERE status = 'done'`).pluck().get() as number;
    const partial = d.prepare(`SELECT count(*) FROM runs r WHERE status = 'running' AND EXISTS (SELECT 1 FROM epochs e WHERE e.run_id = r.id)`).pluck().get() as number;
    return done >= 2 && partial >= 1;
  });
  first.process.kill('SIGKILL');
  const killed = await first.finished;
  assert.equal(killed.signal, 'SIGKILL');

  const before = readRuns(db);
  const doneBefore = before.filter((r) => r.status === 'done');
  const inFlight = before.filter((r) => r.status === 'running');
  assert.ok(doneBefore.length >= 2, 'some runs were done before the kill');
  assert.ok(inFlight.length >= 1, 'some runs were in flight at the kill');
  assert.ok(before.some((r) => r.status !== 'done'), 'the kill landed before the end of the sweep');

  const resumed = await converge(t, dir, args);
  assert.equal(resumed.code, 0, resumed.stderr);

  const after = readRuns(db);
  const keys = planKeys(dir, spec);
  assert.deepEqual(after.map((r) => r.run_key).sort(), keys, "the database holds exactly the plan's runs, once each");
  assert.ok(after.every((r) => r.status === 'done'), 'every run is done');
  assert.ok(after.every((r) => r.recorded === 30 && r.epochs_run === 30), 'every run has all 30 epochs, no partial or duplicate epoch rows');
  for (const d of doneBefore) {
    const now = after.find((r) => r.id === d.id);
    assert.ok(now, `run ${d.id} is still there`);
    assert.equal(now.run_key, d.run_key);
    assert.equal(now.finished_at, d.finished_at, `run ${d.id} was not retrained`);
    assert.equal(now.attempts, d.attempts, `run ${d.id} was not claimed again`);
    assert.equal(now.outcome, d.outcome);
  }
  for (const f of inFlight) {
    const now = after.find((r) => r.id === f.id);
    assert.ok(now);
    assert.equal(now.attempts, f.attempts + 1, `run ${f.id}, cut off by the kill, was redone`);
  }
  assert.equal(integrity(db), 'ok');
});
