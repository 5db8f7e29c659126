import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, integrity, readRuns, sandbox, withDb, writeSpec, type RunRow } from './harness';

const spec = (o: { repeats: number; epochs: number; batch: number[] }) =>
  ['name: change', 'seed: 1', `repeats: ${o.repeats}`, 'data:', '  seq_len: 20', '  n_samples: 10', 'train:', `  epochs: ${o.epochs}`, 'grid:', `  batch_size: [${o.batch.join(', ')}]`, ''].join('\n');

function assertUntouched(after: RunRow[], before: RunRow[], what: string): void {
  for (const b of before) {
    const a = after.find((x) => x.id === b.id);
    assert.ok(a, `${what}: run ${b.id} is kept`);
    assert.equal(a.run_key, b.run_key);
    assert.equal(a.finished_at, b.finished_at, `${what}: run ${b.id} was not retrained`);
    assert.equal(a.attempts, b.attempts);
    assert.equal(a.recorded, b.recorded);
  }
}

interface Cell {
  params: { batch_size: number };
  runs: number;
}

test('a changed spec keeps unchanged runs, adds new ones, never mixes old and new epochs in a cell, and status says what changed', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  const db = join(dir, 'change.db');
  const run = async (text: string) => {
    writeSpec(dir, 'change.yaml', text);
    const r = await converge(t, dir, ['run', 'change.yaml', '--db', 'change.db', '--workers', '2']);
    assert.equal(r.code, 0, r.stderr);
    return r;
  };

  // v1: 2 cells x 2 seeds.
  await run(spec({ repeats: 2, epochs: 3, batch: [1, 2] }));
  const v1 = readRuns(db);
  assert.equal(v1.length, 4);

  // v2: one more seed and one more grid value: the 4 runs are kept, 5 are added.
  const r2 = await run(spec({ repeats: 3, epochs: 3, batch: [1, 2, 4] }));
  assert.match(r2.stderr, /the spec changed since the last run \(repeats: 2 → 3; grid\.batch_size: \[1,2\] → \[1,2,4\]\): 5 new runs, 4 kept/);
  assert.match(r2.stdout, /trained 5 runs/);
  const v2 = readRuns(db);
  assert.equal(v2.length, 9);
  assertUntouched(v2, v1, 'more seeds and grid values');
  const status2 = await converge(t, dir, ['status', 'change.db']);
  assert.match(status2.stdout, /9\/9 runs done/);
  assert.match(status2.stdout, /the spec changed 1 time\(s\); last change .*: repeats: 2 → 3; grid\.batch_size: \[1,2\] → \[1,2,4\]; 5 runs added, 4 kept, 0 retired/);

  // v3: more epochs is a different training: every run is new, the old ones are retired, not mixed in.
  const r3 = await run(spec({ repeats: 3, epochs: 4, batch: [1, 2, 4] }));
  assert.match(r3.stderr, /9 new runs, 0 kept, 9 from earlier versions kept but no longer reported/);
  const v3 = readRuns(db);
  assert.equal(v3.length, 18);
  assertUntouched(v3, v2, 'epochs changed');
  const current = v3.filter((x) => x.in_plan === 1);
  assert.equal(current.length, 9);
  assert.ok(current.every((x) => x.epochs === 4 && x.recorded === 4), 'the current plan holds only 4-epoch runs');
  assert.ok(v3.filter((x) => x.in_plan === 0).every((x) => x.epochs === 3), 'the 3-epoch runs are kept, out of the plan');

  const report = await converge(t, dir, ['report', 'change.db', '--format', 'json']);
  assert.equal(report.code, 0, report.stderr);
  const cells = JSON.parse(report.stdout) as Cell[];
  assert.deepEqual(cells.map((c) => [c.params.batch_size, c.runs]).sort(), [[1, 3], [2, 3], [4, 3]], 'each cell counts its 3 current runs, not 6');

  const status3 = await converge(t, dir, ['status', 'change.db']);
  assert.match(status3.stdout, /9\/9 runs done/);
  assert.match(status3.stdout, /the spec changed 2 time\(s\); last change .*: train\.epochs: 3 → 4; 9 runs added, 0 kept, 9 retired/);
  assert.match(status3.stdout, /9 runs from earlier versions of the spec are kept but not reported/);

  // v4: back to 3 epochs: the earlier runs return to the plan with their results, nothing trains.
  const r4 = await run(spec({ repeats: 3, epochs: 3, batch: [1, 2, 4] }));
  assert.match(r4.stdout, /trained 0 runs/);
  const v4 = readRuns(db);
  assertUntouched(v4, v3, 'epochs changed back');
  assert.deepEqual(v4.filter((x) => x.in_plan === 1).map((x) => x.id).sort(), v2.map((x) => x.id).sort());
  assert.equal(withDb(db, (d) => d.prepare('SELECT count(*) FROM spec_versions').pluck().get()), 4);
  assert.equal(integrity(db), 'ok');
});
