import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, integrity, readRuns, sandbox, writeSpec } from './harness';

test('--retries does not train again a run that --max-attempts gave up on; a higher --max-attempts does', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'gu.yaml', ['name: gu', 'seed: 1', 'repeats: 2', 'data:', '  seq_len: 20', '  n_samples: 20', 'train:', '  epochs: 3', ''].join('\n'));
  const db = join(dir, 'gu.db');
  const args = ['run', 'gu.yaml', '--db', 'gu.db', '--workers', '1', '--quiet'];
  const killer = () => readRuns(db).find((x) => x.seed === 1)!;

  const first = await converge(t, dir, [...args, '--max-attempts', '1'], { CONVERGE_FAULT: 'kill-process:1' });
  assert.equal(first.signal, 'SIGKILL', first.stderr);
  const second = await converge(t, dir, [...args, '--max-attempts', '1'], { CONVERGE_FAULT: 'kill-process:1' });
  assert.equal(second.code, 1, second.stderr);
  assert.equal(killer().status, 'failed');
  assert.match(killer().error ?? '', /killed its worker 1 time \(/);

  // No fault now: a retry would train the run to the end, so only the claim rule keeps it failed.
  const retried = await converge(t, dir, [...args, '--max-attempts', '1', '--retries', '2']);
  assert.equal(retried.code, 1, retried.stderr);
  assert.match(retried.stdout, /trained 0 runs/);
  assert.deepEqual([killer().status, killer().attempts], ['failed', 1]);

  const raised = await converge(t, dir, [...args, '--max-attempts', '2']);
  assert.equal(raised.code, 0, raised.stderr);
  assert.match(raised.stdout, /trained 1 run in/);
  assert.deepEqual([killer().status, killer().attempts, killer().error], ['done', 2, null]);
  assert.equal(integrity(db), 'ok');
});
