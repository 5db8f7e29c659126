import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, integrity, readRuns, sandbox, writeSpec } from './harness';

test('--timeout stops a run that goes over its time and records it failed with outcome timed_out; the other runs finish', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'slow.yaml', ['name: slow', 'seed: 1', 'repeats: 4', 'data:', '  seq_len: 20', '  n_samples: 20', 'train:', '  epochs: 5', ''].join('\n'));
  const t0 = Date.now();
  // hang:2 makes the run of seed 2 spin for an hour; only the timeout can end it.
  const r = await converge(t, dir, ['run', 'slow.yaml', '--db', 'slow.db', '--workers', '2', '--timeout', '1', '--quiet'], { CONVERGE_FAULT: 'hang:2' });
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(r.code, 1, r.stderr);
  assert.ok(seconds < 20, `the hung run was stopped (the sweep took ${seconds.toFixed(1)} s)`);
  const db = join(dir, 'slow.db');
  const runs = readRuns(db);
  const hung = runs.find((x) => x.seed === 2)!;
  assert.equal(hung.status, 'failed');
  assert.equal(hung.outcome, 'timed_out');
  assert.match(hung.error ?? '', /timed out after 1 s \(--timeout\)/);
  assert.equal(hung.owner, null, 'the claim is released');
  assert.ok(runs.filter((x) => x.seed !== 2).every((x) => x.status === 'done' && x.recorded === 5), 'the other runs trained');
  assert.match(r.stdout, /3\/4 done, 1 failed/);
  assert.equal(integrity(db), 'ok');
});
