import assert from 'node:assert/strict';
import { test } from 'node:test';
import { join } from 'node:path';
import type { StatusFrame } from '../../src/report/status';
import type { Progress } from '../../src/store';
import { watchStatus } from '../../src/cli/status';
import { converge, sandbox, slowSpec, start, waitForDb, writeSpec } from '../reliability/harness';

function frame(p: Partial<Progress>, etaSeconds = 90): StatusFrame {
  const progress: Progress = {
    total: 4, pending: 0, running: 0, done: 0, failed: 0, outcomes: {}, retired: 0, epochsRecorded: 0, meanRunSeconds: null,
    active: [], runners: [], specVersions: [], ...p,
  };
  return { sweep: { name: 'w', specPath: 'w.yaml', updatedAt: '2026-01-01T00:00:00Z' }, progress, etaSeconds };
}

test('status --watch redraws on each tick of its clock and returns when the sweep is complete', async () => {
  const frames = [
    frame({ pending: 2, running: 2, active: [{ id: 3, owner: 'h:1:a', epochsDone: 7, epochs: 30, leaseExpired: false }], runners: [{ owner: 'h:1:a', running: 2, finished: 0 }] }),
    frame({ pending: 0, running: 1, done: 3, outcomes: { converged: 2, dead: 1 } }),
    frame({ done: 4, outcomes: { converged: 3, dead: 1 } }),
  ];
  let now = 0;
  const draws: { at: number; text: string }[] = [];
  const sleeps: number[] = [];
  let reads = 0;
  const end = await watchStatus({
    read: () => frames[Math.min(reads++, frames.length - 1)]!,
    draw: (text) => draws.push({ at: now, text }),
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    interrupted: () => false,
  });
  assert.equal(end, 'complete');
  assert.deepEqual(sleeps, [1000, 1000], 'one redraw a second');
  assert.deepEqual(draws.map((d) => d.at), [0, 1000, 2000]);
  assert.match(draws[0]!.text, /0\/4 runs done \(0\.0%\) · 2 running · 2 pending · 0 failed · ETA 1m30s/);
  assert.match(draws[0]!.text, /h:1:a: 2 in flight, 0 finished/);
  assert.match(draws[0]!.text, /run 3: epoch 7\/30/);
  assert.match(draws[1]!.text, /3\/4 runs done .*· 1 running/);
  assert.match(draws[1]!.text, /converged so far: 2 of 3 finished runs/);
  assert.match(draws[2]!.text, /4\/4 runs done \(100\.0%\) · 0 running · 0 pending · 0 failed · complete/);
});

test('status --watch stops when interrupted, without waiting for the sweep', async () => {
  let interrupted = false;
  let draws = 0;
  const end = await watchStatus({
    read: () => frame({ pending: 4 }),
    draw: () => draws++,
    sleep: async () => {
      interrupted = true; // Ctrl-C arrives during the wait
    },
    interrupted: () => interrupted,
  });
  assert.equal(end, 'interrupted');
  assert.equal(draws, 1);
});

test('`status --watch` on a complete sweep prints it once and exits 0', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'done.yaml', ['name: done', 'repeats: 2', 'data: {seq_len: 12, n_samples: 10}', 'train: {epochs: 2}', ''].join('\n'));
  assert.equal((await converge(t, dir, ['run', 'done.yaml', '--db', 'done.db', '--quiet'])).code, 0);
  const r = await converge(t, dir, ['status', 'done.db', '--watch']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.match(/^sweep done /gm)?.length, 1);
  assert.match(r.stdout, /2\/2 runs done \(100\.0%\) .* · complete/);
});

test('`status --watch` started during a sweep shows it progress across runners and exits 0 when it completes', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'live.yaml', slowSpec('live', 4, 30));
  const db = join(dir, 'live.db');
  const args = ['run', 'live.yaml', '--db', 'live.db', '--workers', '1', '--quiet'];
  const runners = [start(t, dir, args), start(t, dir, args)];
  await waitForDb(db, 'runs in flight', (d) => (d.prepare(`SELECT count(*) FROM runs WHERE status = 'running'`).pluck().get() as number) >= 1);
  const watch = await converge(t, dir, ['status', 'live.db', '--watch']);
  for (const r of await Promise.all(runners.map((x) => x.finished))) assert.equal(r.code, 0, r.stderr);
  assert.equal(watch.code, 0, watch.stderr);
  const shown = watch.stdout.split(/\n(?=sweep live )/);
  assert.ok(shown.length >= 2, `redrawn while the sweep ran (${shown.length} frames)`);
  assert.match(shown[0]!, /run \d+: epoch \d+\/30/, 'a run in flight with its epoch');
  assert.match(shown[0]!, /runners: [12]\n/);
  const done = shown.map((f) => Number(/(\d+)\/8 runs done/.exec(f)?.[1]));
  assert.deepEqual([...done].sort((a, b) => a - b), done, 'progress never goes back');
  assert.match(shown[shown.length - 1]!, /8\/8 runs done \(100\.0%\) .* · complete/);
  assert.match(shown[shown.length - 1]!, /converged so far: \d+ of 8 finished runs/);
});

test('status counts failed and timed-out runs apart from the finished runs, as report does', async () => {
  const { renderStatus } = await import('../../src/report/status');
  const text = renderStatus(frame({ done: 3, failed: 2, outcomes: { converged: 1, dead_at_init: 2, failed: 1, timed_out: 1 } }));
  assert.match(text, /converged so far: 1 of 3 finished runs \(2 failed or timed out, not counted\)/);
});
