import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { converge, convergeSync, integrity, readRuns, sandbox, writeSpec } from './harness';

/** Eight quick runs; with --shard i/2 and no --db both shards use results/shards.db. */
const SPEC = ['name: shards', 'seed: 1', 'repeats: 4', 'data:', '  seq_len: 20', '  n_samples: 20', 'train:', '  epochs: 4', 'grid:', '  batch_size: [1, 2]', ''].join('\n');

function planCount(dir: string): number {
  const r = convergeSync(dir, ['plan', 'shards.yaml', '--json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { run_count: number }).run_count;
}

/** Runs per cell and done per cell, summed over `report --format json`. */
function reported(dir: string): { runs: number; done: number } {
  const r = convergeSync(dir, ['report', 'results/shards.db', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const cells = JSON.parse(r.stdout) as { runs: number; done: number }[];
  return { runs: cells.reduce((s, c) => s + c.runs, 0), done: cells.reduce((s, c) => s + c.done, 0) };
}

function setUp(t: Parameters<typeof sandbox>[0]) {
  const dir = sandbox(t);
  writeSpec(dir, 'shards.yaml', SPEC);
  mkdirSync(join(dir, 'results'));
  return { dir, db: join(dir, 'results', 'shards.db') };
}

for (const order of [['1/2', '2/2'], ['2/2', '1/2']] as const) {
  test(`shards ${order[0]} then ${order[1]} without --db share the default database and never retire each other's runs`, { timeout: 60_000 }, async (t) => {
    const { dir, db } = setUp(t);
    const total = planCount(dir);
    const first = await converge(t, dir, ['run', 'shards.yaml', '--shard', order[0], '--quiet']);
    assert.equal(first.code, 0, first.stderr);
    assert.doesNotMatch(first.stderr + first.stdout, /no longer reported|kept but not reported/);
    const mid = readRuns(db);
    assert.equal(mid.length, total, 'the first shard recorded the whole plan');
    assert.ok(mid.every((r) => r.in_plan === 1), 'every run is in the plan');
    const half = mid.filter((r) => r.status === 'done').length;
    assert.ok(half > 0 && half < total, `the first shard trained only its share (${half} of ${total})`);
    assert.deepEqual(reported(dir), { runs: total, done: half }, 'report counts every planned run, done or not');

    const second = await converge(t, dir, ['run', 'shards.yaml', '--shard', order[1], '--quiet']);
    assert.equal(second.code, 0, second.stderr);
    assert.doesNotMatch(second.stderr + second.stdout, /no longer reported|kept but not reported/);
    const after = readRuns(db);
    assert.equal(after.length, total);
    assert.ok(after.every((r) => r.in_plan === 1 && r.status === 'done' && r.attempts === 1 && r.recorded === 4), 'every run trained once, by one shard');
    for (const r of mid.filter((x) => x.status === 'done')) {
      assert.equal(after.find((x) => x.id === r.id)!.finished_at, r.finished_at, `run ${r.id} of the first shard is untouched by the second`);
    }
    assert.deepEqual(reported(dir), { runs: total, done: total }, '`report --format json` run count equals `plan --json` run_count');
    const status = convergeSync(dir, ['status', 'results/shards.db', '--json']);
    const s = JSON.parse(status.stdout) as { total: number; done: number; retired: number };
    assert.deepEqual([s.total, s.done, s.retired], [total, total, 0]);
    assert.equal(integrity(db), 'ok');
  });
}

test('shards 1/2 and 2/2 at the same time on the default database train every run once and report the whole plan', { timeout: 60_000 }, async (t) => {
  const { dir, db } = setUp(t);
  const total = planCount(dir);
  const [a, b] = await Promise.all([
    converge(t, dir, ['run', 'shards.yaml', '--shard', '1/2', '--workers', '1', '--quiet']),
    converge(t, dir, ['run', 'shards.yaml', '--shard', '2/2', '--workers', '1', '--quiet']),
  ]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const trained = (out: string) => Number(/trained (\d+) runs/.exec(out)?.[1] ?? NaN);
  assert.equal(trained(a.stdout) + trained(b.stdout), total, 'between them the shards trained the plan once');
  assert.ok(trained(a.stdout) > 0 && trained(b.stdout) > 0);
  const runs = readRuns(db);
  assert.equal(runs.length, total);
  assert.ok(runs.every((r) => r.in_plan === 1 && r.status === 'done' && r.attempts === 1 && r.recorded === 4));
  assert.deepEqual(reported(dir), { runs: total, done: total });
  assert.equal(integrity(db), 'ok');
});
