import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { expandPlan, runCost } from '../../src/grid';
import { parseSpec } from '../../src/spec';
import { claimRuns, failRun, finishRun, mergeInto, openDb, readCounts, readRuns, rescoreAll, syncPlan, type Db } from '../../src/store';
import { MIGRATIONS } from '../../src/store/migrations';
import { tempDir } from '../helpers';

/** 1,000 runs over four cells of different costs, listed cheapest first. */
const SPEC = `name: scale
repeats: 250
train: {epochs: 2}
cases:
  - {seq_len: 20, n_samples: 10}
  - {seq_len: 40, n_samples: 30}
  - {seq_len: 80, n_samples: 60}
  - {seq_len: 160, n_samples: 100}
`;

function planned(text = SPEC) {
  const file = join(tempDir(), 'scale.db');
  const spec = parseSpec(text, 'scale.yaml');
  const plan = expandPlan(spec);
  const db = openDb(file);
  syncPlan(db, file, spec, plan);
  return { file, spec, plan, db };
}

/** Every SQL text `db` compiles from now on, and every call of each SQL function registered on it from now on. */
function watch(db: Db): { sql: string[]; calls: Map<string, number> } {
  const seen = { sql: [] as string[], calls: new Map<string, number>() };
  const prepare = db.prepare.bind(db);
  db.prepare = ((sql: string) => {
    seen.sql.push(sql);
    return prepare(sql);
  }) as Db['prepare'];
  const define = db.function.bind(db) as (name: string, options: object, fn: (...args: unknown[]) => unknown) => Db;
  db.function = ((name: string, options: object, fn: (...args: unknown[]) => unknown) =>
    // varargs: better-sqlite3 takes a function's arity from its length, which a wrapper hides.
    define(name, { ...options, varargs: true }, (...args: unknown[]) => {
      seen.calls.set(name, (seen.calls.get(name) ?? 0) + 1);
      return fn(...args);
    })) as Db['function'];
  return seen;
}

/** The counts as a scan of the runs table gives them. */
function scannedCounts(db: Db) {
  return db
    .prepare(
      `SELECT count(*) AS total, coalesce(sum(status = 'pending'), 0) AS pending, coalesce(sum(status = 'running'), 0) AS running,
         coalesce(sum(status = 'done'), 0) AS done, coalesce(sum(status = 'failed'), 0) AS failed,
         coalesce(sum(outcome = 'converged'), 0) AS converged FROM runs WHERE in_plan = 1`,
    )
    .get();
}

const final = { epoch: 1, loss: 0.1, mae: 0.1, valLoss: 0.1, valMae: 0.1, popLoss: 0.1, popMae: 0.01, unseenMae: 0.1, popMaxOutput: 1, seconds: 0.1 };

describe('claiming at scale', () => {
  it('a claim reads the next runs from an index in cost order: no scan of the runs, no sort of them, no cost evaluated per run', () => {
    const { plan, db } = planned();
    const seen = watch(db);
    const claimed: string[] = [];
    for (let i = 0; i < 20; i++) claimed.push(...claimRuns(db, { owner: 'w', limit: 2, leaseSeconds: 60, retries: 1 }).map((r) => r.runKey));
    const expected = plan.runs
      .map((r, i) => ({ key: r.runKey, cost: runCost(r.params), i }))
      .sort((a, b) => b.cost - a.cost || a.i - b.i)
      .slice(0, 40)
      .map((r) => r.key);
    assert.deepEqual(claimed, expected, 'the costliest runs first, ties in plan order');
    assert.equal(seen.calls.get('run_cost') ?? 0, 0, `the cost function ran ${seen.calls.get('run_cost')} times during 20 claims`);
    const pick = seen.sql.find((s) => /^\s*SELECT\b/i.test(s) && /\bFROM runs\b/.test(s) && /ORDER BY/i.test(s));
    assert.ok(pick, `claimRuns selects the runs to claim:\n${seen.sql.join('\n---\n')}`);
    const steps = (db.prepare(`EXPLAIN QUERY PLAN ${pick}`).all({ now: 0, retryLimit: 2, maxAttempts: 3 }) as { detail: string }[]).map((r) => r.detail);
    assert.ok(!steps.some((d) => /TEMP B-TREE/.test(d)), `no sort: ${steps.join(' | ')}`);
    assert.ok(!steps.some((d) => /^SCAN runs$/.test(d)), `no scan of the table: ${steps.join(' | ')}`);
    assert.ok(steps.some((d) => /USING INDEX runs_claim/.test(d)), `read through runs_claim: ${steps.join(' | ')}`);
    db.close();
  });

  it('every planned run stores its cost, and runs stored before the cost column get theirs when the plan is synced', () => {
    const dir = tempDir();
    const file = join(dir, 'old.db');
    const spec = parseSpec(SPEC, 'scale.yaml');
    const plan = expandPlan(spec);
    // A database of schema 4 (the shipped migrations 1-4) holding this plan, as the code of then stored it.
    const raw = new Database(file);
    for (const m of MIGRATIONS.slice(0, 4)) raw.exec(m);
    raw.exec(`INSERT INTO meta VALUES ('app', 'converge'), ('schema_version', '4')`);
    raw.prepare(`INSERT INTO sweep VALUES (1, 'scale', 'scale.yaml', ?, ?, '[]', 'pop_mae', 0.05, 'then', 'then')`).run(spec.source.text, spec.source.hash);
    const cols = Object.keys(plan.runs[0]!.params);
    const insert = raw.prepare(
      `INSERT INTO runs (run_key, cell_key, seed, repeat, params_json, ${cols.join(', ')}) VALUES (?, ?, ?, ?, ?, ${cols.map(() => '?').join(', ')})`,
    );
    const column = (v: unknown) => (typeof v === 'boolean' ? Number(v) : v);
    raw.transaction(() => {
      for (const r of plan.runs) insert.run(r.runKey, r.cellKey, r.seed, r.repeat, r.paramsJson, ...cols.map((c) => column(r.params[c as keyof typeof r.params])));
    })();
    raw.prepare(`UPDATE runs SET status = 'done', outcome = 'converged' WHERE id <= 10`).run();
    raw.close();
    const db = openDb(file);
    assert.equal(db.prepare(`SELECT count(*) FROM runs WHERE cost IS NULL`).pluck().get(), 1000, 'migrated: no cost yet');
    assert.deepEqual(readCounts(db), scannedCounts(db), 'migrated: the tally counts the stored runs');
    const sync = syncPlan(db, file, spec, plan);
    assert.equal(sync.added, 0);
    const stored = db.prepare(`SELECT run_key AS key, cost FROM runs`).all() as { key: string; cost: number }[];
    const byKey = new Map(plan.runs.map((r) => [r.runKey, runCost(r.params)]));
    for (const r of stored) assert.equal(r.cost, byKey.get(r.key), r.key);
    const [first] = claimRuns(db, { owner: 'w', limit: 1, leaseSeconds: 60, retries: 0 });
    assert.equal(plan.runs.find((r) => r.runKey === first!.runKey)!.params.seq_len, 160, 'the costliest cell first');
    assert.deepEqual(readCounts(db), scannedCounts(db));
    db.close();
  });

  it('the run counts progress reads after every run agree with a count of the runs through claims, finishes, failures, re-scoring, retirement and merge', () => {
    const { file, spec, plan, db } = planned();
    const check = (when: string) => assert.deepEqual(readCounts(db), scannedCounts(db), when);
    check('planned');
    const claimed = claimRuns(db, { owner: 'w', limit: 30, leaseSeconds: 60, retries: 0 });
    check('claimed');
    claimed.forEach((r, i) => {
      if (i % 3 === 0) failRun(db, { id: r.id, owner: 'w' }, 'failed', 'boom', 1);
      else finishRun(db, { id: r.id, owner: 'w' }, { backend: 'fused-js', outcome: i % 3 === 1 ? 'converged' : 'not_converged', aliveAtInit: true, final, convergedEpoch: 1, epochsRun: 1, seconds: 1 });
    });
    check('finished and failed');
    assert.equal(readCounts(db).converged, 10);
    rescoreAll(db, { metric: 'pop_mae', threshold: 1e-9 });
    check('re-scored under a stricter rule');
    claimRuns(db, { owner: 'v', limit: 5, leaseSeconds: 60, retries: 1 });
    check('failed runs retried');
    // A smaller plan retires half the runs; the full plan brings them back.
    const half = { ...plan, runs: plan.runs.filter((_, i) => i % 2 === 0) };
    syncPlan(db, file, spec, half);
    check('half retired');
    assert.equal(readCounts(db).total, 500);
    syncPlan(db, file, spec, plan);
    check('back in the plan');
    const outFile = join(tempDir(), 'merged.db');
    const out = openDb(outFile);
    mergeInto(out, outFile, [{ db, file }]);
    assert.deepEqual(readCounts(out), scannedCounts(out), 'merged');
    mergeInto(out, outFile, [{ db, file }]);
    assert.deepEqual(readCounts(out), scannedCounts(out), 'merged again (runs replaced by their copies)');
    out.close();
    db.close();
  });

  it('reading every run of a big sweep holds one frozen parameters object per cell, not one per run', () => {
    const { db } = planned();
    const runs = readRuns(db);
    assert.equal(runs.length, 1000);
    assert.equal(new Set(runs.map((r) => r.params)).size, 4);
    assert.ok(runs.every((r) => Object.isFrozen(r.params)));
    assert.deepEqual(runs.map((r) => r.params.seq_len).filter((v, i, a) => a.indexOf(v) === i), [20, 40, 80, 160]);
    db.close();
  });
});

describe('--retries and --max-attempts', () => {
  it('a run given up by --max-attempts is not claimed again by --retries, unless --max-attempts is raised', () => {
    const { db } = planned('name: g\nrepeats: 2\ndata: {seq_len: 20, n_samples: 10}\n');
    const expire = () => db.prepare(`UPDATE runs SET lease_until = 0 WHERE status = 'running'`).run();
    const claim = (retries: number, maxAttempts: number) => claimRuns(db, { owner: 'p', limit: 1, leaseSeconds: 60, retries, maxAttempts });
    const [killer] = claim(0, 1);
    expire(); // its process vanished
    const [other] = claim(3, 1);
    assert.notEqual(other!.id, killer!.id);
    assert.deepEqual(db.prepare(`SELECT status, attempts FROM runs WHERE id = ?`).get(killer!.id), { status: 'failed', attempts: 1 }, 'given up');
    failRun(db, { id: other!.id, owner: 'p' }, 'failed', 'an ordinary failure', 1);
    const retried = claim(3, 1);
    assert.deepEqual(
      retried.map((r) => r.id),
      [other!.id],
      'an ordinary failure is retried; the run that killed its process is not',
    );
    failRun(db, { id: other!.id, owner: 'p' }, 'failed', 'an ordinary failure', 1);
    assert.deepEqual(claim(1, 1), [], 'the ordinary failure used its one retry; the given-up run is left alone');
    assert.equal(db.prepare(`SELECT status FROM runs WHERE id = ?`).pluck().get(killer!.id), 'failed');
    const [again] = claim(0, 2);
    assert.equal(again?.id, killer!.id, 'a higher --max-attempts claims it again, as its message says');
    db.close();
  });
});
