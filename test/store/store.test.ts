import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ConvergeError } from '../../src/errors';
import { expandPlan } from '../../src/grid';
import { parseSpec } from '../../src/spec';
import { claimRuns, failRun, finishRun, heartbeat, killedWorkerMessage, openDb, querySql, queryRuns, readProgress, readRuns, recordEpoch, releaseRuns, SCHEMA_VERSION, syncPlan } from '../../src/store';
import { MIGRATIONS } from '../../src/store/migrations';
import { tempDir } from '../helpers';

const SPEC = 'name: st\nrepeats: 2\ngrid:\n  seq_len: [20]\n  n_samples: [10, 15]\n';

function fresh(text = SPEC) {
  const dir = tempDir();
  const file = join(dir, 'st.db');
  const spec = parseSpec(text, 'st.yaml');
  const plan = expandPlan(spec);
  const db = openDb(file);
  return { dir, file, spec, plan, db };
}

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConvergeError, String(e));
    return e.code;
  }
  return 'accepted';
}

describe('the SQLite store', () => {
  it('a new database is in WAL mode with the current schema version', () => {
    const { db, file } = fresh();
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), String(SCHEMA_VERSION));
    raw.close();
  });

  it('syncing a plan inserts one pending row per run with each parameter as a column, and syncing again adds nothing', () => {
    const { db, file, spec, plan } = fresh();
    const s1 = syncPlan(db, file, spec, plan);
    assert.deepEqual([s1.added, s1.kept, s1.retired], [4, 0, 0]);
    const s2 = syncPlan(db, file, spec, plan);
    assert.deepEqual([s2.added, s2.kept], [0, 4]);
    const rows = db.prepare(`SELECT seq_len, n_samples, batch_size, seed, status FROM runs ORDER BY id`).all();
    assert.deepEqual(rows, [
      { seq_len: 20, n_samples: 10, batch_size: 1, seed: 0, status: 'pending' },
      { seq_len: 20, n_samples: 10, batch_size: 1, seed: 1, status: 'pending' },
      { seq_len: 20, n_samples: 15, batch_size: 1, seed: 0, status: 'pending' },
      { seq_len: 20, n_samples: 15, batch_size: 1, seed: 1, status: 'pending' },
    ]);
    db.close();
  });

  it('a claim takes each run once, and released runs lose their partial epochs', () => {
    const { db, file, spec, plan } = fresh();
    syncPlan(db, file, spec, plan);
    const a = claimRuns(db, { owner: 'a', limit: 3, leaseSeconds: 60, retries: 0 });
    const b = claimRuns(db, { owner: 'b', limit: 3, leaseSeconds: 60, retries: 0 });
    assert.equal(a.length, 3);
    assert.equal(b.length, 1);
    assert.equal(new Set([...a, ...b].map((r) => r.id)).size, 4);
    recordEpoch(db, { id: a[0]!.id, owner: 'a' }, { epoch: 1, loss: 1, mae: 1, valLoss: 1, valMae: 1, popLoss: 1, popMae: 1, unseenMae: 1, popMaxOutput: 1, seconds: 0.1 });
    assert.equal(releaseRuns(db, 'a'), 3);
    assert.equal(db.prepare(`SELECT count(*) FROM epochs`).pluck().get(), 0);
    assert.equal(readProgress(db).pending, 3);
    db.close();
  });

  it('an expired lease is reclaimed; a live one is not', () => {
    const { db, file, spec, plan } = fresh();
    syncPlan(db, file, spec, plan);
    const held = claimRuns(db, { owner: 'x', limit: 4, leaseSeconds: 60, retries: 0 });
    assert.equal(claimRuns(db, { owner: 'y', limit: 4, leaseSeconds: 60, retries: 0 }).length, 0);
    db.prepare(`UPDATE runs SET lease_until = 0 WHERE id = ?`).run(held[0]!.id);
    const re = claimRuns(db, { owner: 'y', limit: 4, leaseSeconds: 60, retries: 0 });
    assert.deepEqual(re.map((r) => r.id), [held[0]!.id]);
    assert.equal(re[0]!.attempts, 2);
    db.close();
  });

  it('a stale owner cannot add epochs to, finish, fail or heartbeat a run another process took over, and each write says so', () => {
    const { db, file, spec, plan } = fresh();
    syncPlan(db, file, spec, plan);
    const [r] = claimRuns(db, { owner: 'stale', limit: 1, leaseSeconds: 60, retries: 0 });
    const m = { epoch: 1, loss: 0.1, mae: 0.2, valLoss: 0.01, valMae: 0.04, popLoss: 0.01, popMae: 0.04, unseenMae: 0.04, popMaxOutput: 1, seconds: 0.5 };
    assert.equal(recordEpoch(db, { id: r!.id, owner: 'stale' }, m), true, 'the holder writes');
    db.prepare(`UPDATE runs SET lease_until = 0 WHERE id = ?`).run(r!.id); // its lease ran out
    const [again] = claimRuns(db, { owner: 'fresh', limit: 1, leaseSeconds: 60, retries: 0 });
    assert.equal(again!.id, r!.id);
    assert.equal(recordEpoch(db, { id: r!.id, owner: 'fresh' }, { ...m, valMae: 0.3 }), true);
    const snapshot = () => ({
      run: db.prepare(`SELECT status, owner, outcome, error, final_val_mae, attempts, lease_until FROM runs WHERE id = ?`).get(r!.id),
      epochs: db.prepare(`SELECT epoch, val_mae FROM epochs WHERE run_id = ? ORDER BY epoch`).all(r!.id),
    });
    const before = snapshot();
    const stale = { id: r!.id, owner: 'stale' };
    assert.equal(recordEpoch(db, stale, { ...m, epoch: 2 }), false);
    assert.equal(recordEpoch(db, stale, m), false, 'nor overwrite an epoch');
    assert.equal(finishRun(db, stale, { backend: 'fused-js', outcome: 'converged', aliveAtInit: true, final: m, convergedEpoch: 1, epochsRun: 1, seconds: 0.5 }), false);
    assert.equal(failRun(db, stale, 'failed', 'late failure', 1), false);
    assert.equal(failRun(db, stale, 'timed_out', 'late timeout', 1), false);
    assert.deepEqual([...heartbeat(db, 'stale', 60)], [], 'the stale heartbeat lists no run and extends none');
    assert.deepEqual(snapshot(), before, 'nothing the stale owner did changed the run or its epochs');
    assert.deepEqual([...heartbeat(db, 'fresh', 60)], [r!.id]);
    assert.equal(finishRun(db, { id: r!.id, owner: 'fresh' }, { backend: 'fused-js', outcome: 'not_converged', aliveAtInit: true, final: { ...m, valMae: 0.3 }, convergedEpoch: null, epochsRun: 1, seconds: 0.5 }), true);
    assert.equal(failRun(db, { id: r!.id, owner: 'fresh' }, 'failed', 'after done', 1), false, 'a done run is no longer held, even by its last owner');
    assert.deepEqual(db.prepare(`SELECT status, outcome, final_val_mae, trained_by FROM runs WHERE id = ?`).get(r!.id), {
      status: 'done', outcome: 'not_converged', final_val_mae: 0.3, trained_by: 'fresh',
    });
    db.close();
  });

  it('a run whose owner vanished is reclaimed until --max-attempts, then recorded failed naming the count', () => {
    const { db, file, spec, plan } = fresh();
    syncPlan(db, file, spec, plan);
    const expire = () => db.prepare(`UPDATE runs SET lease_until = 0 WHERE status = 'running'`).run();
    const claimOne = (owner: string) => claimRuns(db, { owner, limit: 1, leaseSeconds: 60, retries: 0, maxAttempts: 2 });
    const [first] = claimOne('p1');
    expire();
    const [second] = claimOne('p2');
    assert.equal(second!.id, first!.id);
    assert.equal(second!.attempts, 2);
    expire();
    const [next] = claimOne('p3');
    assert.notEqual(next!.id, first!.id, 'the run that vanished twice is not claimed a third time');
    const row = db.prepare(`SELECT status, outcome, error, owner, attempts FROM runs WHERE id = ?`).get(first!.id) as Record<string, unknown>;
    assert.deepEqual({ ...row, error: undefined }, { status: 'failed', outcome: 'failed', error: undefined, owner: null, attempts: 2 });
    assert.equal(row.error, killedWorkerMessage(2));
    assert.match(String(row.error), /killed its worker 2 times/);
    db.close();
  });

  it('a finished run records its outcome and final metrics', () => {
    const { db, file, spec, plan } = fresh();
    syncPlan(db, file, spec, plan);
    const [r] = claimRuns(db, { owner: 'a', limit: 1, leaseSeconds: 60, retries: 0 });
    const m = { epoch: 1, loss: 0.1, mae: 0.2, valLoss: 0.01, valMae: 0.04, popLoss: 0.01, popMae: 0.04, unseenMae: 0.04, popMaxOutput: 1, seconds: 0.5 };
    recordEpoch(db, { id: r!.id, owner: 'a' }, m);
    finishRun(db, { id: r!.id, owner: 'a' }, { backend: 'fused-js', outcome: 'converged', aliveAtInit: true, final: m, convergedEpoch: 1, epochsRun: 1, seconds: 0.5 });
    const row = readRuns(db).find((x) => x.id === r!.id)!;
    assert.equal(row.status, 'done');
    assert.equal(row.outcome, 'converged');
    assert.equal(row.finalValMae, 0.04);
    assert.equal(queryRuns(db, [{ key: 'outcome', op: '=', value: 'converged' }]).length, 1);
    db.close();
  });

  it('a database of another sweep is refused when syncing a different spec', () => {
    const { db, file, spec, plan } = fresh();
    syncPlan(db, file, spec, plan);
    const other = parseSpec(SPEC.replace('name: st', 'name: other'), 'o.yaml');
    assert.equal(code(() => syncPlan(db, file, other, expandPlan(other))), 'store.otherSweep');
    db.close();
  });

  it('read-only SQL that would write is refused and changes nothing', () => {
    const { db, file, spec, plan } = fresh();
    syncPlan(db, file, spec, plan);
    db.close();
    const ro = openDb(file, { readonly: true });
    assert.equal(code(() => querySql(ro, 'delete from runs')), 'query.readOnly');
    assert.equal(code(() => querySql(ro, 'drop table runs')), 'query.readOnly');
    assert.equal((querySql(ro, 'select count(*) AS n from runs')[0] as { n: number }).n, 4);
    ro.close();
  });

  it('bad database files are refused with their own codes and nothing is created', () => {
    const dir = tempDir();
    assert.equal(code(() => openDb(join(dir, 'missing', 'x.db'))), 'store.noFolder');
    assert.equal(existsSync(join(dir, 'missing')), false);
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'hello, this is not a database at all');
    assert.equal(code(() => openDb(text)), 'store.notDatabase');
    const yaml = join(dir, 'spec.yaml');
    writeFileSync(yaml, 'name: x\n');
    assert.equal(code(() => openDb(yaml, { readonly: true })), 'store.isSpec');
    const foreign = join(dir, 'foreign.db');
    const f = new Database(foreign);
    f.exec('CREATE TABLE t (x)');
    f.close();
    assert.equal(code(() => openDb(foreign)), 'store.notConverge');
    assert.equal(code(() => openDb(join(dir, 'nope.db'), { readonly: true })), 'store.notFound');
    assert.equal(existsSync(join(dir, 'nope.db')), false);
  });

  it('a database written by a newer schema version is refused', () => {
    const { db, file } = fresh();
    db.prepare(`UPDATE meta SET value = '99' WHERE key = 'schema_version'`).run();
    db.close();
    assert.equal(code(() => openDb(file)), 'store.schemaTooNew');
    assert.equal(code(() => openDb(file, { readonly: true })), 'store.schemaTooNew');
  });

  it('a database of schema version 1 is readable read-only and migrated by the next writer', () => {
    const dir = tempDir();
    const file = join(dir, 'v1.db');
    const raw = new Database(file);
    raw.exec(MIGRATIONS[0]!);
    raw.exec(`INSERT INTO meta VALUES ('app', 'converge'), ('schema_version', '1')`);
    raw.prepare(`INSERT INTO spec_versions (spec_hash, spec_text, recorded_at, runs_added, runs_kept, runs_retired) VALUES ('h', 't', 'now', 0, 0, 0)`).run();
    raw.close();
    const ro = openDb(file, { readonly: true });
    assert.equal(readProgress(ro).specVersions[0]!.changes.length, 0);
    ro.close();
    const rw = openDb(file);
    assert.equal(rw.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), String(SCHEMA_VERSION));
    assert.equal(rw.prepare(`SELECT count(*) FROM pragma_table_info('spec_versions') WHERE name = 'changes'`).pluck().get(), 1);
    assert.equal(rw.prepare(`SELECT count(*) FROM pragma_table_info('runs') WHERE name = 'trained_by'`).pluck().get(), 1);
    rw.close();
  });
});
