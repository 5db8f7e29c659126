import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, integrity, readRuns, sandbox, writeSpec } from './harness';

// Cells that grow: with ci_width 0.5 a cell needs more than 3 seeds unless all agree.
const SPEC = ['name: ad', 'seed: 1', 'repeats: {min: 3, max: 9, until: {ci_width: 0.5}}', 'data: {seq_len: 30}', 'train: {epochs: 20}', 'grid:', '  n_samples: [10, 14, 20, 31]', ''].join('\n');

test('adaptive repeats with two runners on one database: the same runs as one runner, each trained once', { timeout: 180_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'ad.yaml', SPEC);
  const one = await converge(t, dir, ['run', 'ad.yaml', '--db', 'one.db', '--workers', '2', '--quiet']);
  assert.equal(one.code, 0, one.stderr);
  const [a, b] = await Promise.all([
    converge(t, dir, ['run', 'ad.yaml', '--db', 'two.db', '--workers', '1', '--quiet']),
    converge(t, dir, ['run', 'ad.yaml', '--db', 'two.db', '--workers', '1', '--quiet']),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const single = readRuns(join(dir, 'one.db'));
  const double = readRuns(join(dir, 'two.db'));
  assert.deepEqual(double.map((r) => r.run_key).sort(), single.map((r) => r.run_key).sort());
  assert.ok(double.every((r) => r.status === 'done' && r.attempts === 1 && r.in_plan === 1), 'each run trained once, all in the plan');
  assert.ok(single.length > 12, 'some cells grew beyond min');
  assert.equal(integrity(join(dir, 'two.db')), 'ok');
});

test('adaptive repeats in two shards with their own databases, merged: the same runs as one runner', { timeout: 180_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'ad.yaml', SPEC);
  const one = await converge(t, dir, ['run', 'ad.yaml', '--db', 'one.db', '--workers', '2', '--quiet']);
  assert.equal(one.code, 0, one.stderr);
  for (const i of [1, 2]) {
    const r = await converge(t, dir, ['run', 'ad.yaml', '--db', `s${i}.db`, '--shard', `${i}/2`, '--workers', '2', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
  }
  const m = await converge(t, dir, ['merge', 'merged.db', 's1.db', 's2.db']);
  assert.equal(m.code, 0, m.stderr);
  const done = (f: string) => readRuns(join(dir, f)).filter((r) => r.status === 'done').map((r) => r.run_key).sort();
  assert.deepEqual(done('merged.db'), done('one.db'));
});
