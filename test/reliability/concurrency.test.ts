import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { converge, integrity, planKeys, readRuns, sandbox, slowSpec, start, waitForDb, writeSpec } from './harness';

const trainedCount = (stdout: string): number => Number(/trained (\d+) runs?/.exec(stdout)?.[1] ?? NaN);

test('two `converge run` on the same spec and new database at once train every run exactly once and keep the file intact', { timeout: 90_000 }, async (t) => {
  const dir = sandbox(t);
  const spec = writeSpec(dir, 'two.yaml', slowSpec('two', 4, 10));
  const args = ['run', spec, '--db', 'two.db', '--workers', '1', '--quiet'];
  const [a, b] = await Promise.all([converge(t, dir, args), converge(t, dir, args)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(trainedCount(a.stdout) + trainedCount(b.stdout), 8, 'between them the two processes trained the 8 runs once');
  for (const r of [a, b]) assert.match(r.stdout, /8\/8 done, 0 failed/, 'each process returns only when the whole sweep is done');

  const db = join(dir, 'two.db');
  const runs = readRuns(db);
  assert.deepEqual(runs.map((r) => r.run_key).sort(), planKeys(dir, spec));
  for (const r of runs) {
    assert.equal(r.status, 'done');
    assert.equal(r.attempts, 1, `run ${r.id} was claimed once`);
    assert.equal(r.recorded, 10, `run ${r.id} has its 10 epochs, once each`);
  }
  assert.equal(integrity(db), 'ok');
});

test('a claim whose owner died is reclaimed: at once for a dead process of this host and PID namespace, after the lease for another host, never while the lease holds', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'lease.yaml', ['name: lease', 'seed: 1', 'repeats: 4', 'data:', '  seq_len: 20', '  n_samples: 20', 'train:', '  epochs: 5', ''].join('\n'));
  const first = await converge(t, dir, ['run', 'lease.yaml', '--db', 'lease.db', '--quiet']);
  assert.equal(first.code, 0, first.stderr);
  const db = join(dir, 'lease.db');

  // Fake three claims left behind by processes that are gone; the one on this host under the
  // owner id it gave itself (it names its PID namespace: store/owner.ts).
  const store = JSON.stringify(join(__dirname, '../../src/store'));
  const deadOwner = spawnSync(process.execPath, ['-e', `process.stdout.write(require(${store}).ownerId())`], { encoding: 'utf8' }).stdout;
  const now = Date.now() / 1000;
  const heldUntil = now + 6;
  const w = new Database(db);
  const claim = w.prepare(
    `UPDATE runs SET status = 'running', owner = ?, lease_until = ?, outcome = NULL, finished_at = NULL, started_at = ? WHERE seed = ?`,
  );
  w.transaction(() => {
    claim.run('otherhost:4242:old', now - 60, new Date().toISOString(), 1); // other host, lease expired
    claim.run('otherhost:4243:held', heldUntil, new Date().toISOString(), 2); // other host, lease still held
    claim.run(deadOwner, now + 3600, new Date().toISOString(), 3); // this host and PID namespace, dead pid
    w.prepare(`DELETE FROM epochs WHERE run_id IN (SELECT id FROM runs WHERE seed IN (1, 2, 3))`).run();
  })();
  w.close();
  const before = readRuns(db);

  const child = start(t, dir, ['run', 'lease.yaml', '--db', 'lease.db']);
  await waitForDb(db, 'the expired and the dead claims to be redone', (d) =>
    (d.prepare(`SELECT count(*) FROM runs WHERE seed IN (1, 3) AND status = 'done'`).pluck().get() as number) === 2,
  );
  const whileHeld = readRuns(db).find((r) => r.seed === 2)!;
  assert.ok(Date.now() / 1000 < heldUntil, 'observed while the lease still holds');
  assert.equal(whileHeld.status, 'running');
  assert.equal(whileHeld.owner, 'otherhost:4243:held', 'a claim under a live lease is not taken over');
  assert.equal(whileHeld.attempts, before.find((r) => r.seed === 2)!.attempts);

  const r = await child.finished;
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /waiting for 1 run\(s\) held by other `converge run` processes/);
  const after = readRuns(db);
  for (const seed of [1, 2, 3]) {
    const x = after.find((y) => y.seed === seed)!;
    const was = before.find((y) => y.seed === seed)!;
    assert.equal(x.status, 'done', `seed ${seed} was reclaimed and trained`);
    assert.equal(x.attempts, was.attempts + 1);
    assert.equal(x.owner, null);
    assert.equal(x.recorded, 5);
  }
  const seed2 = after.find((y) => y.seed === 2)!;
  assert.ok(Date.parse(seed2.finished_at!) / 1000 >= heldUntil, 'the held run was reclaimed only after its lease ended');
  const seed4 = after.find((y) => y.seed === 4)!;
  assert.equal(seed4.finished_at, before.find((y) => y.seed === 4)!.finished_at, 'the run that was done is untouched');
  assert.equal(integrity(db), 'ok');
});
