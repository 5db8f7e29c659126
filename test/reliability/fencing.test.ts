import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, integrity, readRuns, sandbox, start, waitFor, waitForDb, withDb, writeSpec } from './harness';

/** One long run (seq_len 200, 130 samples, batch 1): several seconds, so it is in flight while the test acts. */
const ONE_LONG_RUN = ['name: fence', 'seed: 1', 'repeats: 1', 'data:', '  seq_len: 200', '  n_samples: 130', 'train:', '  epochs: 300', ''].join('\n');

const ownerOf = (db: string) => withDb(db, (d) => d.prepare(`SELECT owner FROM runs`).pluck().get() as string | null);

test('a process whose lease expired cannot finish, fail or add epochs to the run another process took over: it stops that run and says so once', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'fence.yaml', ONE_LONG_RUN);
  const db = join(dir, 'fence.db');
  // A 2 s lease (heartbeat every 0.5 s) so a real lease runs out while the first process is stopped.
  const env = { CONVERGE_LEASE_SECONDS: '2' };
  const args = ['run', 'fence.yaml', '--db', 'fence.db', '--workers', '1', '--quiet'];

  const a = start(t, dir, args, env);
  await waitForDb(db, 'the first process training with epochs recorded', (d) =>
    (d.prepare(`SELECT count(*) FROM epochs`).pluck().get() as number) >= 2,
  );
  const ownerA = ownerOf(db)!;
  a.process.kill('SIGSTOP'); // suspended: it cannot heartbeat, as a stalled or cut-off host
  t.after(() => a.process.kill('SIGCONT'));
  await waitForDb(db, "the first process's lease to expire", (d) => (d.prepare(`SELECT lease_until FROM runs`).pluck().get() as number) < Date.now() / 1000);

  const b = start(t, dir, args, env);
  const ownerB = await waitForDb(db, 'the second process to take the run over', (d) => {
    const r = d.prepare(`SELECT owner, status, attempts FROM runs`).get() as { owner: string | null; status: string; attempts: number };
    return r.status === 'running' && r.owner !== ownerA && r.attempts === 2 ? r.owner : undefined;
  });
  await waitForDb(db, 'the second process to record an epoch', (d) => (d.prepare(`SELECT count(*) FROM epochs`).pluck().get() as number) >= 1);

  a.process.kill('SIGCONT'); // its worker goes on producing epochs and its heartbeat is due
  await waitFor('the first process to notice it lost the claim', () => /another process took it over/.test(a.stderr()));
  const during = withDb(db, (d) => d.prepare(`SELECT status, owner, outcome, error FROM runs`).get());
  assert.deepEqual(during, { status: 'running', owner: ownerB, outcome: null, error: null }, 'the stale process changed nothing: the run is still the second one’s');

  const [ra, rb] = await Promise.all([a.finished, b.finished]);
  assert.equal(ra.code, 0, ra.stderr);
  assert.equal(rb.code, 0, rb.stderr);
  assert.equal(ra.stderr.match(/another process took it over/g)?.length, 1, `said once:\n${ra.stderr}`);
  assert.match(ra.stdout, /trained 0 runs/, 'the stale process does not count the run as trained');
  assert.match(rb.stdout, /trained 1 run in/);
  const [run] = readRuns(db);
  assert.equal(run!.status, 'done');
  assert.equal(run!.attempts, 2);
  assert.equal(run!.owner, null);
  assert.equal(run!.recorded, 300, 'exactly the epochs of one training, 1..300');
  assert.equal(run!.epochs_run, 300);
  assert.equal(withDb(db, (d) => d.prepare(`SELECT trained_by FROM runs`).pluck().get()), ownerB, 'finished by the process that held it');
  assert.equal(withDb(db, (d) => d.prepare(`SELECT max(epoch) - min(epoch) + 1 FROM epochs`).pluck().get()), 300);
  assert.equal(integrity(db), 'ok');
});

test('a run that kills its whole process is reclaimed on each resume until --max-attempts, then recorded failed naming the count', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'killer.yaml', ['name: killer', 'seed: 1', 'repeats: 3', 'data:', '  seq_len: 20', '  n_samples: 20', 'train:', '  epochs: 3', ''].join('\n'));
  const db = join(dir, 'killer.db');
  const args = ['run', 'killer.yaml', '--db', 'killer.db', '--workers', '1', '--quiet'];
  const env = { CONVERGE_FAULT: 'kill-process:2' };
  for (let attempt = 1; attempt <= 3; attempt++) {
    const r = await converge(t, dir, args, env);
    assert.equal(r.signal, 'SIGKILL', `attempt ${attempt}: the run killed its process (${r.stderr})`);
    const killer = readRuns(db).find((x) => x.seed === 2)!;
    assert.equal(killer.status, 'running', 'left behind by the dead process');
    assert.equal(killer.attempts, attempt, 'each reclaim of a vanished owner counts as an attempt');
  }
  const last = await converge(t, dir, args, env);
  assert.equal(last.code, 1, last.stderr);
  assert.match(last.stdout, /2\/3 done, 1 failed/);
  const runs = readRuns(db);
  const killer = runs.find((x) => x.seed === 2)!;
  assert.equal(killer.status, 'failed');
  assert.equal(killer.outcome, 'failed');
  assert.match(killer.error ?? '', /killed its worker 3 times/);
  assert.equal(killer.attempts, 3, 'not claimed a fourth time');
  assert.equal(killer.owner, null);
  assert.ok(runs.filter((x) => x.seed !== 2).every((x) => x.status === 'done' && x.recorded === 3), 'the other runs trained');

  const again = await converge(t, dir, args, env);
  assert.equal(again.code, 1, 'the given-up run stays failed');
  assert.match(again.stdout, /trained 0 runs/);
  assert.equal(integrity(db), 'ok');
});

test('--max-attempts 1 gives up on a run after the first process it killed', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'k1.yaml', ['name: k1', 'seed: 1', 'repeats: 2', 'data:', '  seq_len: 20', '  n_samples: 20', 'train:', '  epochs: 3', ''].join('\n'));
  const args = ['run', 'k1.yaml', '--db', 'k1.db', '--workers', '1', '--quiet', '--max-attempts', '1'];
  const first = await converge(t, dir, args, { CONVERGE_FAULT: 'kill-process:1' });
  assert.equal(first.signal, 'SIGKILL');
  const second = await converge(t, dir, args, { CONVERGE_FAULT: 'kill-process:1' });
  assert.equal(second.code, 1, second.stderr);
  const run = readRuns(join(dir, 'k1.db')).find((x) => x.seed === 1)!;
  assert.equal(run.status, 'failed');
  assert.match(run.error ?? '', /killed its worker 1 time \(/);
});
