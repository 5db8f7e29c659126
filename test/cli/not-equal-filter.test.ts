import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { expandPlan } from '../../src/grid';
import { parseSpec } from '../../src/spec';
import { openDb, syncPlan } from '../../src/store';
import { convergeSync, sandbox, withDb, writeSpec } from '../reliability/harness';

/** unseen_mae at N = L+1 = 10: every row drawn, so those runs finish with no outcome. */
const SPEC = (repeats: number) =>
  ['name: ne', 'seed: 0', `repeats: ${repeats}`, 'data: {seq_len: 9, test_fraction: 0.5}', 'train: {epochs: 2}', 'grid: {n_samples: [6, 10]}', 'converged: {metric: unseen_mae, threshold: 0.45}', ''].join('\n');

test('--where "outcome!=dead" keeps pending runs and runs with no outcome, in query and report', { timeout: 120_000 }, (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SPEC(3));
  const run = convergeSync(dir, ['run', 's.yaml', '--db', 's.db', '--workers', '1', '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  // Two more seeds per cell planned and not trained: pending.
  const file = join(dir, 's.db');
  const spec = parseSpec(SPEC(5), join(dir, 's.yaml'));
  const db = openDb(file);
  syncPlan(db, file, spec, expandPlan(spec));
  db.close();

  const expected = withDb(file, (d) => d.prepare(`SELECT id FROM runs WHERE outcome IS NOT 'dead' ORDER BY id`).pluck().all() as number[]);
  const kinds = withDb(file, (d) => d.prepare(`SELECT sum(status = 'pending') AS pending, sum(status = 'done' AND outcome IS NULL) AS unscored FROM runs`).get()) as { pending: number; unscored: number };
  assert.equal(kinds.pending, 4);
  assert.ok(kinds.unscored >= 1, 'runs at N = L+1 have no outcome');

  const q = convergeSync(dir, ['query', 's.db', '--where', 'outcome!=dead', '--format', 'json']);
  assert.equal(q.code, 0, q.stderr);
  assert.deepEqual((JSON.parse(q.stdout) as { id: number }[]).map((r) => r.id), expected);

  // Read-time scoring (--threshold): the scored outcome of a pending run is NULL as well.
  const rescored = convergeSync(dir, ['query', 's.db', '--where', 'outcome!=dead and status=pending', '--threshold', '0.4', '--format', 'json']);
  assert.equal(rescored.code, 0, rescored.stderr);
  assert.equal((JSON.parse(rescored.stdout) as unknown[]).length, 4);

  const r = convergeSync(dir, ['report', 's.db', '--where', 'outcome!=dead', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const cells = JSON.parse(r.stdout) as { runs: number; lacks_metric: number }[];
  assert.equal(cells.reduce((s, c) => s + c.runs, 0), expected.length);
  assert.equal(cells.reduce((s, c) => s + c.lacks_metric, 0), kinds.unscored);
});
