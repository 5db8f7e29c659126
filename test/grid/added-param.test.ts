import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { expandPlan } from '../../src/grid';
import { addParamForTest, loadSpec } from '../../src/spec';
import { claimRuns, openDb, syncPlan } from '../../src/store';
import { ROOT, runCli, tempDir, writeSpec } from '../helpers';

test("today's run and cell keys are the ones earlier versions stored (sweeps/answer-cases.yaml, the schema-2 fixture)", () => {
  const answer = expandPlan(loadSpec(join(ROOT, 'sweeps', 'answer-cases.yaml')));
  const keyOf = (seqLen: number, nSamples: number, batch: number, kernel: string, seed: number) =>
    answer.runs.filter((r) => r.params.seq_len === seqLen && r.params.n_samples === nSamples && r.params.batch_size === batch && r.params.kernel_initializer === kernel && r.seed === seed).map((r) => [r.runKey, r.cellKey]);
  // As recorded in results/answer-cases.db by `npm run reproduce`.
  assert.deepEqual(keyOf(2000, 50, 1, 'orthogonal', 1), [['e5a13fcff97be9df7f46', '56a0ae376f3f8ec37ffe']]);
  assert.deepEqual(keyOf(2000, 50, 1, 'orthogonal', 2), [['b657bd6e821ec4bfc85a', '56a0ae376f3f8ec37ffe']]);
  assert.deepEqual(keyOf(2000, 50, 1, 'glorot_uniform', 1), [['e9b6ad40d0d9177458f1', '6fd590247ac89aea8497']]);
  assert.deepEqual(keyOf(200, 80, 1, 'orthogonal', 1), [['cc0e87a4d37ea7fc2f13', '4764ee8975a4f818c2d7']]);
  assert.deepEqual(keyOf(2000, 1200, 32, 'glorot_uniform', 1), [['ea6de381c27c46cac25e', '579520373d6a5f83a30f']]);
  // Every run of the database written by converge at commit 256b35e (test/fixtures/make-v2-db.sh).
  // A copy: opening the WAL-mode fixture in place would leave -wal/-shm files beside it.
  const copy = join(tempDir(), 'v2.db');
  copyFileSync(join(ROOT, 'test', 'fixtures', 'v2.db'), copy);
  const fixture = new Database(copy, { readonly: true });
  const stored = fixture.prepare(`SELECT run_key, cell_key FROM runs ORDER BY id`).all() as { run_key: string; cell_key: string }[];
  fixture.close();
  const v2 = expandPlan(loadSpec(join(ROOT, 'test', 'fixtures', 'v2-sweep.yaml')));
  assert.equal(stored.length, 48);
  assert.deepEqual(v2.runs.map((r) => ({ run_key: r.runKey, cell_key: r.cellKey })), stored);
});

const SPEC = ['name: added', 'seed: 1', 'repeats: 3', 'data: {seq_len: 12, n_samples: 10}', 'train: {epochs: 2}', 'grid:', '  batch_size: [1, 2]', ''].join('\n');

test('a release that adds a parameter at its introduction value resumes a trained database with 0 runs retrained; another value plans new runs', { timeout: 120_000 }, (t) => {
  const dir = tempDir();
  const specFile = writeSpec(dir, 'added.yaml', SPEC);
  const file = join(dir, 'added.db');
  const trained = runCli(['run', specFile, '--db', file, '--workers', '1', '--quiet'], { cwd: dir });
  assert.equal(trained.code, 0, trained.stderr);

  // The release: a new parameter whose value 0 reproduces the behaviour from before it existed,
  // and the migration that gives it a column.
  t.after(addParamForTest('dropout', { section: 'model', type: z.number().min(0).lt(1), default: 0, doc: 'dropout rate', introduced: 0 }));
  const db = openDb(file);
  t.after(() => db.close());
  db.exec(`ALTER TABLE runs ADD COLUMN dropout REAL NOT NULL DEFAULT 0`);
  const storedKeys = db.prepare(`SELECT run_key FROM runs ORDER BY id`).pluck().all() as string[];

  const spec = loadSpec(specFile);
  assert.equal((spec.base as Record<string, unknown>).dropout, 0, 'the new parameter is resolved like any other');
  const plan = expandPlan(spec);
  assert.deepEqual(plan.runs.map((r) => r.runKey), storedKeys, 'the same run keys as before the parameter existed');
  const resumed = syncPlan(db, file, spec, plan);
  assert.deepEqual([resumed.added, resumed.kept, resumed.retired], [0, 6, 0]);
  assert.deepEqual(claimRuns(db, { owner: 'resume', limit: 10, leaseSeconds: 60, retries: 0 }), [], '0 runs to retrain');

  // More seeds at the introduction value: new runs, and whoever trains them sees the parameter.
  const more = loadSpec(specFile, ['repeats=4']);
  const grown = syncPlan(db, file, more, expandPlan(more));
  assert.deepEqual([grown.added, grown.kept], [2, 6]);
  const fresh = claimRuns(db, { owner: 'more', limit: 10, leaseSeconds: 60, retries: 0 });
  assert.equal(fresh.length, 2);
  for (const r of fresh) assert.equal((JSON.parse(r.paramsJson) as Record<string, unknown>).dropout, 0, r.paramsJson);

  // Another value of the new parameter is another experiment: every run of it is new.
  const other = { ...more, base: { ...more.base, dropout: 0.5 } };
  const otherPlan = expandPlan(other);
  assert.ok(otherPlan.runs.every((r) => !storedKeys.includes(r.runKey)), 'no key shared with the stored runs');
  const changed = syncPlan(db, file, other, otherPlan);
  assert.deepEqual([changed.added, changed.kept], [8, 0]);
  assert.deepEqual(db.prepare(`SELECT DISTINCT dropout FROM runs WHERE in_plan = 1`).pluck().all(), [0.5]);
});
