import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, integrity, readRuns, sandbox, start, waitForDb, writeSpec } from './harness';

// One boundary at L = 50. The interrupted searches hold each run 300 ms (CONVERGE_FAULT=slow:300,
// numbers unchanged): the wasm kernel trains these runs so fast that the whole search could end
// between two polls, and the signal must land mid-search.
const SPEC = [
  'name: kill-search',
  'seed: 1',
  'repeats: 4',
  'data: {seq_len: 50}',
  'train: {epochs: 25}',
  'search:',
  '  axis: n_samples',
  '  range: [10, seq_len+1]',
  '  precision: 0.25',
  '  budget: 36',
  '',
].join('\n');

test('kill -9 mid-search, then the same command: the same answer as an uninterrupted search, no finished run trained twice', { timeout: 240_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'k.yaml', SPEC);

  const clean = await converge(t, dir, ['search', 'k.yaml', '--db', 'clean.db', '--workers', '2', '--json']);
  assert.equal(clean.code, 0, clean.stderr);

  const args = ['search', 'k.yaml', '--db', 'kill.db', '--workers', '2', '--json'];
  const first = start(t, dir, args, { CONVERGE_FAULT: 'slow:300' });
  // Past the opening design (20 runs), with a run in flight: the kill lands inside the adaptive part.
  await waitForDb(join(dir, 'kill.db'), 'more than 20 done runs and one in flight', (d) => {
    const done = d.prepare(`SELECT count(*) FROM runs WHERE status = 'done'`).pluck().get() as number;
    const running = d.prepare(`SELECT count(*) FROM runs WHERE status = 'running'`).pluck().get() as number;
    return done > 20 && running >= 1;
  }, 120_000);
  first.process.kill('SIGKILL');
  const killed = await first.finished;
  assert.equal(killed.signal, 'SIGKILL');
  const before = readRuns(join(dir, 'kill.db'));
  const doneBefore = before.filter((r) => r.status === 'done');
  assert.ok(before.some((r) => r.status === 'running'), 'the kill landed with a run in flight');

  const resumed = await converge(t, dir, args);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(JSON.parse(resumed.stdout), JSON.parse(clean.stdout), 'same boundaries, estimates, intervals and evidence');

  const after = readRuns(join(dir, 'kill.db'));
  const cleanRuns = readRuns(join(dir, 'clean.db'));
  assert.deepEqual(after.map((r) => r.run_key).sort(), cleanRuns.map((r) => r.run_key).sort(), 'exactly the runs of the uninterrupted search');
  assert.ok(after.every((r) => r.status === 'done' && r.recorded === r.epochs_run));
  for (const d of doneBefore) {
    const now = after.find((r) => r.id === d.id)!;
    assert.equal(now.finished_at, d.finished_at, `run ${d.id} was not retrained`);
    assert.equal(now.attempts, d.attempts);
  }
  assert.equal(integrity(join(dir, 'kill.db')), 'ok');
});

test('Ctrl-C mid-search exits 130 with the resume command, and resuming gives the uninterrupted answer', { timeout: 240_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'k.yaml', SPEC);
  const clean = await converge(t, dir, ['search', 'k.yaml', '--db', 'clean.db', '--workers', '2', '--json']);
  assert.equal(clean.code, 0, clean.stderr);

  const args = ['search', 'k.yaml', '--db', 'int.db', '--workers', '2', '--json'];
  const first = start(t, dir, args, { CONVERGE_FAULT: 'slow:300' });
  await waitForDb(join(dir, 'int.db'), 'more than 20 done runs and one in flight', (d) => {
    const done = d.prepare(`SELECT count(*) FROM runs WHERE status = 'done'`).pluck().get() as number;
    const running = d.prepare(`SELECT count(*) FROM runs WHERE status = 'running'`).pluck().get() as number;
    return done > 20 && running >= 1;
  }, 120_000);
  first.process.kill('SIGINT');
  const stopped = await first.finished;
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /Resume with: converge search k\.yaml --db int\.db/);
  const between = readRuns(join(dir, 'int.db'));
  assert.ok(between.every((r) => r.status !== 'running'), 'no run left running');

  const resumed = await converge(t, dir, args);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(JSON.parse(resumed.stdout), JSON.parse(clean.stdout));
  for (const d of between.filter((r) => r.status === 'done')) {
    const now = readRuns(join(dir, 'int.db')).find((r) => r.id === d.id)!;
    assert.equal(now.finished_at, d.finished_at, `run ${d.id} was not retrained`);
  }
});
