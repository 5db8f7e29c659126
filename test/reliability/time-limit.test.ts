import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, convergeSync, integrity, readRuns, sandbox, writeSpec } from './harness';

// Each run held 1.5 s before it trains (CONVERGE_FAULT=slow:MS): with 2 workers and --max-time 1s,
// the first two runs are in flight when the limit comes, and the other six are never claimed.
const SLOW = { CONVERGE_FAULT: 'slow:1500' };
const spec = ['name: limit', 'seed: 1', 'repeats: 4', 'data:', '  seq_len: 20', '  n_samples: 20', 'train:', '  epochs: 3', 'grid:', '  batch_size: [1, 2]', ''].join('\n');

test('run --max-time lets the runs in flight finish, starts no more, exits 4 with the command that resumes; that command trains the rest', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'limit.yaml', spec);
  const r = await converge(t, dir, ['run', 'limit.yaml', '--db', 'limit.db', '--workers', '2', '--max-time', '1s'], SLOW);
  assert.equal(r.code, 4, r.stderr);
  const db = join(dir, 'limit.db');
  const runs = readRuns(db);
  const done = runs.filter((x) => x.status === 'done');
  assert.equal(done.length, 2, 'the two runs in flight at the limit finished');
  assert.ok(done.every((x) => x.recorded === 3 && x.owner === null), 'they were trained to the end and recorded');
  assert.deepEqual(runs.filter((x) => x.status !== 'done').map((x) => x.status), Array(6).fill('pending'), 'the rest were never claimed');
  assert.match(r.stderr, /--max-time 1\.0s reached: starting no more runs/);
  const resume = /Resume with: (converge .*)$/m.exec(r.stderr);
  assert.ok(resume, r.stderr);
  assert.match(r.stderr, /stopped at the time limit \(--max-time 1\.0s\): trained 2 runs in .*; 2\/8 done, 0 failed, 6 not started/);
  assert.equal(resume[1], 'converge run limit.yaml --db limit.db --workers 2', 'the resume command is the same command without the time limit');
  assert.equal(integrity(db), 'ok');

  const again = await converge(t, dir, resume[1].split(' ').slice(1));
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /trained 6 runs in .*; 8\/8 done, 0 failed/);
  assert.ok(readRuns(db).every((x) => x.status === 'done'));
});

test('run --stop-at far ahead changes nothing: the sweep runs to the end and exits 0', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'limit.yaml', spec);
  const r = await converge(t, dir, ['run', 'limit.yaml', '--db', 'limit.db', '--stop-at', '2999-01-01T00:00', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /8\/8 done/);
});

test('a bad --stop-at or --max-time is one line naming the expected form, exit 2, before anything is written', () => {
  for (const [flag, value, expected] of [
    ['--max-time', '90', /--max-time must be a duration with a unit, e\.g\. 90m, 8h, 3600s or 1h30m, got "90"/],
    ['--max-time', '0s', /--max-time must be a duration/],
    ['--stop-at', '25:00', /--stop-at must be a time HH:MM/],
    ['--stop-at', 'tomorrow', /--stop-at must be a time HH:MM .* or an ISO timestamp/],
    ['--stop-at', '2001-01-01T00:00', /--stop-at 2001-01-01T00:00 is already past/],
  ] as const) {
    const r = convergeSync('/tmp', ['run', 'nothing.yaml', flag, value]);
    assert.equal(r.code, 2, `${flag} ${value}: ${r.stderr}`);
    assert.match(r.stderr, expected);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  }
});
