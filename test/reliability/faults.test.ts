import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, integrity, readRuns, sandbox, writeSpec } from './harness';

/** Six quick runs of one cell, seeds 1..6 (run ids follow the seeds). */
const SIX_SEEDS = ['name: faults', 'seed: 1', 'repeats: 6', 'data:', '  seq_len: 20', '  n_samples: 20', 'train:', '  epochs: 5', ''].join('\n');

/**
 * With one worker thread and the fault on the first run, every later run can only train if the
 * pool replaced the thread: "the sweep goes on" is then observable in the database.
 */
async function sweepWithFault(t: Parameters<typeof sandbox>[0], fault: string, extra: string[] = []) {
  const dir = sandbox(t);
  writeSpec(dir, 'faults.yaml', SIX_SEEDS);
  const r = await converge(t, dir, ['run', 'faults.yaml', '--db', 'faults.db', '--workers', '1', '--quiet', ...extra], { CONVERGE_FAULT: fault });
  const db = join(dir, 'faults.db');
  return { dir, db, r, runs: readRuns(db) };
}

test('a run that throws is recorded failed with its error, the sweep goes on, and the exit code is 1', { timeout: 60_000 }, async (t) => {
  const { db, r, runs } = await sweepWithFault(t, 'throw:1');
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /5\/6 done, 1 failed/);
  const bad = runs.filter((x) => x.status === 'failed');
  assert.deepEqual(bad.map((x) => x.seed), [1]);
  assert.equal(bad[0]!.outcome, 'failed');
  assert.match(bad[0]!.error ?? '', /injected failure \(CONVERGE_FAULT=throw\)/);
  assert.equal(bad[0]!.attempts, 1);
  assert.ok(runs.filter((x) => x.seed !== 1).every((x) => x.status === 'done' && x.recorded === 5), 'the other five runs trained');
  assert.equal(integrity(db), 'ok');
});

test('a worker thread that exits is recorded as a failed run and replaced, and the later runs train on the new thread', { timeout: 60_000 }, async (t) => {
  const { r, runs } = await sweepWithFault(t, 'exit:1');
  assert.equal(r.code, 1, r.stderr);
  const bad = runs.find((x) => x.seed === 1)!;
  assert.equal(bad.status, 'failed');
  assert.equal(bad.outcome, 'failed');
  assert.match(bad.error ?? '', /worker died: .*exited with code: 7/);
  assert.ok(runs.filter((x) => x.seed !== 1).every((x) => x.status === 'done'), 'the sweep went on after the thread died');
});

test('a worker thread over its heap limit (--max-heap-mb) is recorded as a failed run and replaced, and the sweep goes on', { timeout: 60_000 }, async (t) => {
  const { r, runs } = await sweepWithFault(t, 'oom:1', ['--max-heap-mb', '64']);
  assert.equal(r.code, 1, r.stderr);
  const bad = runs.find((x) => x.seed === 1)!;
  assert.equal(bad.status, 'failed');
  assert.match(bad.error ?? '', /worker died: ERR_WORKER_OUT_OF_MEMORY/);
  assert.ok(runs.filter((x) => x.seed !== 1).every((x) => x.status === 'done'), 'the sweep went on after the thread ran out of memory');
});

test('--retries N tries a failing run N more times, then records it failed with its attempts', { timeout: 60_000 }, async (t) => {
  const { r, runs } = await sweepWithFault(t, 'throw:3', ['--retries', '2']);
  assert.equal(r.code, 1, r.stderr);
  const bad = runs.find((x) => x.seed === 3)!;
  assert.equal(bad.status, 'failed');
  assert.equal(bad.attempts, 3, '1 attempt + 2 retries');
  assert.ok(runs.filter((x) => x.seed !== 3).every((x) => x.status === 'done' && x.attempts === 1), 'runs that succeed are not retried');
});

test('a failed run is retrained by a later `run --retries 1` (and left alone without --retries)', { timeout: 60_000 }, async (t) => {
  const { dir, runs } = await sweepWithFault(t, 'throw:2');
  const db = join(dir, 'faults.db');
  const failedRun = runs.find((x) => x.seed === 2)!;
  assert.equal(failedRun.status, 'failed');
  const doneBefore = runs.filter((x) => x.status === 'done');

  const again = await converge(t, dir, ['run', 'faults.yaml', '--db', 'faults.db', '--quiet']);
  assert.equal(again.code, 1, 'without --retries the failed run stays failed');
  assert.equal(readRuns(db).find((x) => x.id === failedRun.id)?.attempts, 1);

  const retried = await converge(t, dir, ['run', 'faults.yaml', '--db', 'faults.db', '--quiet', '--retries', '1']);
  assert.equal(retried.code, 0, retried.stderr);
  const after = readRuns(db);
  const fixed = after.find((x) => x.id === failedRun.id)!;
  assert.equal(fixed.status, 'done');
  assert.equal(fixed.attempts, 2);
  assert.equal(fixed.error, null, 'the old error is cleared');
  assert.equal(fixed.recorded, 5);
  for (const d of doneBefore) assert.equal(after.find((x) => x.id === d.id)?.finished_at, d.finished_at, `done run ${d.id} was not retrained`);
});

test('a run failed by a fault is not in its cell\'s finished runs or n, and report lists it as failed', { timeout: 60_000 }, async (t) => {
  const { dir, r } = await sweepWithFault(t, 'throw:2');
  assert.equal(r.code, 1, r.stderr);
  const rep = await converge(t, dir, ['report', 'faults.db', '--format', 'json']);
  assert.equal(rep.code, 0, rep.stderr);
  const [cell] = JSON.parse(rep.stdout) as { runs: number; finished: number; n: number; failed: number; failed_runs: number[] }[];
  assert.deepEqual([cell!.runs, cell!.finished, cell!.n, cell!.failed, cell!.failed_runs], [6, 5, 5, 1, [2]]);
  assert.match(rep.stderr, /all runs: 1 failed \(not in n\): run 2/);
});
