import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { integrity, readRuns, sandbox, start, waitForDb, withDb, writeSpec } from './harness';

// Two runners on one database, as two containers with one hostname but their own PID namespaces
// would run them: one in a PID namespace of its own (unshare, as root), one outside it.

const SPEC = ['name: ns', 'seed: 1', 'repeats: 8', 'data: {seq_len: 20, n_samples: 20}', 'train: {epochs: 5}', ''].join('\n');
// Each run held 1.5 s before it trains, so both runners hold a run most of the time.
const SLOW = { CONVERGE_FAULT: 'slow:1500' };

/** Starts a command in a PID namespace of its own; killing unshare kills the namespace (--kill-child). */
const OWN_PID_NAMESPACE = ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child'];

/** The pid of the process unshare started (the runner, pid 1 in its namespace), as this namespace sees it. */
function runnerPid(unsharePid: number): number {
  const children = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/);
  return Number(children[0]);
}

/** The pid part of an owner id (host/pid/pid-space/random). */
const ownerPid = (owner: string | null) => Number(owner?.split('/').at(-3));

test("a runner in its own PID namespace and one outside it on the same database never take over each other's live runs", { timeout: 90_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'ns.yaml', SPEC);
  const db = join(dir, 'ns.db');
  const args = ['run', 'ns.yaml', '--db', 'ns.db', '--workers', '1', '--quiet'];
  const outside = start(t, dir, args, SLOW);
  await waitForDb(db, 'the runner outside to hold a run', (d) => d.prepare(`SELECT count(*) FROM runs WHERE status = 'running'`).pluck().get() === 1);
  const inside = start(t, dir, args, SLOW, OWN_PID_NAMESPACE);
  const [a, b] = await Promise.all([outside.finished, inside.finished]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  for (const r of [a, b]) assert.doesNotMatch(r.stderr, /lost its claim/);
  const runs = readRuns(db);
  assert.ok(runs.every((r) => r.status === 'done' && r.recorded === 5));
  assert.deepEqual(runs.map((r) => r.attempts), runs.map(() => 1), 'no run was claimed twice');
  const trainers = withDb(db, (d) => d.prepare(`SELECT count(DISTINCT trained_by) FROM runs`).pluck().get());
  assert.equal(trainers, 2, 'both runners trained runs');
  assert.equal(integrity(db), 'ok');
});

test('kill -9 of a runner in its own PID namespace: the runner outside takes its runs over once their lease has expired, not before', { timeout: 90_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'ns.yaml', SPEC);
  const db = join(dir, 'ns.db');
  const args = ['run', 'ns.yaml', '--db', 'ns.db', '--workers', '1', '--quiet'];
  const env = { ...SLOW, CONVERGE_LEASE_SECONDS: '3' };
  const outside = start(t, dir, args, env);
  await waitForDb(db, 'the runner outside to hold a run', (d) => d.prepare(`SELECT count(*) FROM runs WHERE status = 'running'`).pluck().get() === 1);
  const inside = start(t, dir, args, env, OWN_PID_NAMESPACE);
  const outsidePid = outside.process.pid!;
  await waitForDb(db, 'the runner inside to hold a run', (d) =>
    (d.prepare(`SELECT owner FROM runs WHERE status = 'running'`).pluck().all() as string[]).some((o) => ownerPid(o) !== outsidePid),
  );
  process.kill(runnerPid(inside.process.pid!), 'SIGKILL');
  await inside.finished;
  const orphans = readRuns(db).filter((r) => r.status === 'running' && ownerPid(r.owner) !== outsidePid);
  assert.ok(orphans.length >= 1, 'the killed runner held a run');

  const a = await outside.finished;
  assert.equal(a.code, 0, a.stderr);
  const runs = readRuns(db);
  const started = startedAt(db);
  assert.ok(runs.every((r) => r.status === 'done' && r.recorded === 5), 'every run is done, its epochs once each');
  for (const o of orphans) {
    const now = runs.find((r) => r.id === o.id)!;
    assert.equal(now.attempts, o.attempts + 1, `run ${o.id}, cut off by the kill, was redone`);
    assert.ok(started.get(o.id)! >= o.lease_until!, `run ${o.id} was taken over only after its lease ran out`);
  }
  const others = runs.filter((r) => !orphans.some((o) => o.id === r.id));
  assert.deepEqual(others.map((r) => r.attempts), others.map(() => 1), 'no live run was taken over');
  assert.equal(integrity(db), 'ok');
});

/** runs.started_at in seconds, by run id. */
function startedAt(file: string): Map<number, number> {
  const rows = withDb(file, (d) => d.prepare(`SELECT id, started_at AS at FROM runs`).all() as { id: number; at: string }[]);
  return new Map(rows.map((r) => [r.id, Date.parse(r.at) / 1000]));
}
