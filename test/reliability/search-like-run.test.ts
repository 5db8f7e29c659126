import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, converge, convergeSync, integrity, readRuns, sandbox, start, waitForDb, writeSpec } from './harness';

/** One boundary at L = 20 with a budget of exactly its opening design: 5 probes × seeds 1..4. */
const SMALL = ['name: small', 'seed: 1', 'repeats: 4', 'data: {seq_len: 20}', 'train: {epochs: 3}', 'search:', '  axis: n_samples', '  range: [10, seq_len+1]', '  budget: 20', ''].join('\n');

/** One boundary at L = 50 that takes several rounds (as in search-kill.test.ts). */
const ROUNDS = ['name: rounds', 'seed: 1', 'repeats: 4', 'data: {seq_len: 50}', 'train: {epochs: 25}', 'search:', '  axis: n_samples', '  range: [10, seq_len+1]', '  precision: 0.25', '  budget: 36', ''].join('\n');

/** The long options a command's --help lists. */
function optionsOf(command: string): string[] {
  const r = convergeSync(process.cwd(), [command, '--help']);
  assert.equal(r.code, 0, r.stderr);
  return [...r.stdout.matchAll(/^ {2}(?:-\w, )?(--[\w-]+)/gm)].map((m) => m[1]!).sort();
}

test('run and search take the same training options: every option of run but --yes and the time limits is an option of search', () => {
  // --stop-at and --max-time are run's only: a search plans its rounds one after another, and stopping between them needs its own rule.
  const run = optionsOf('run').filter((o) => !['--yes', '--stop-at', '--max-time'].includes(o));
  const search = optionsOf('search');
  assert.deepEqual(run.filter((o) => !search.includes(o)), [], 'options of run that search lacks');
  assert.deepEqual(search, run);
});

test('converge search --max-heap-mb: a run over the worker heap limit fails alone, its thread is replaced, and the search goes on', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SMALL);
  const r = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '1', '--quiet', '--max-heap-mb', '64'], { CONVERGE_FAULT: 'oom:1' });
  assert.equal(r.code, 1, `exit 1: some runs failed\n${r.stderr}`);
  const runs = readRuns(join(dir, 's.db'));
  assert.equal(runs.length, 20);
  for (const x of runs) {
    if (x.seed === 1) {
      assert.equal(x.status, 'failed');
      assert.match(x.error ?? '', /worker died: ERR_WORKER_OUT_OF_MEMORY/);
    } else assert.equal(x.status, 'done', `seed ${x.seed} trained on a replaced thread`);
  }
});

test('converge search --max-attempts 1: a run whose process died is recorded failed on the next search instead of claimed again', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SMALL);
  const args = ['search', 's.yaml', '--db', 's.db', '--workers', '1', '--quiet', '--max-attempts', '1'];
  const killed = await converge(t, dir, args, { CONVERGE_FAULT: 'kill-process:1' });
  assert.equal(killed.signal, 'SIGKILL', `the first seed-1 run killed its process: ${killed.stderr}`);
  const killer = readRuns(join(dir, 's.db')).find((x) => x.status === 'running');
  assert.ok(killer, 'the dead process left its run running');
  const again = await converge(t, dir, args);
  assert.equal(again.code, 1, again.stderr);
  const runs = readRuns(join(dir, 's.db'));
  const given = runs.find((x) => x.id === killer.id)!;
  assert.equal(given.status, 'failed');
  assert.equal(given.attempts, 1, 'not claimed a second time');
  assert.match(given.error ?? '', /killed its worker 1 time \(/);
  assert.ok(runs.filter((x) => x.id !== killer.id).every((x) => x.status === 'done'), 'every other run trained');
});

test('`converge search spec | head -1` stops like an interrupt: exit 130, no run left running, and the same command resumes', { timeout: 180_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'r.yaml', ROUNDS);
  const args = ['search', 'r.yaml', '--db', 'r.db', '--workers', '2'];
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' ');
  const code = await new Promise<number>((resolve, reject) => {
    const sh = spawn('bash', ['-c', `${quoted} 2>converge.err | head -1 > head.out; echo "\${PIPESTATUS[0]}" > converge.code`], {
      cwd: dir,
      env: { ...process.env, CONVERGE_FAULT: 'slow:300' },
      stdio: 'ignore',
    });
    sh.on('error', reject);
    sh.on('close', () => resolve(Number(readFileSync(join(dir, 'converge.code'), 'utf8').trim())));
  });
  const stderr = readFileSync(join(dir, 'converge.err'), 'utf8');
  assert.equal(code, 130, stderr);
  assert.match(readFileSync(join(dir, 'head.out'), 'utf8'), /^search rounds: 1 boundary along n_samples into r\.db with 2 workers\n$/);
  assert.match(stderr, /output closed: stopping the runs in flight/);
  assert.match(stderr, /Resume with: converge search r\.yaml --db r\.db --workers 2/);
  assert.doesNotMatch(stderr, /^\s+at |unexpected error|EPIPE/im, 'no crash report');
  const rows = readRuns(join(dir, 'r.db'));
  assert.ok(rows.every((x) => x.status !== 'running' && x.status !== 'failed'), 'every run given back or done');
  for (const x of rows) assert.equal(x.recorded, x.status === 'done' ? x.epochs_run : 0, `run ${x.id} has all its epochs or none`);
  const resumed = await converge(t, dir, [...args, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(readRuns(join(dir, 'r.db')).every((x) => x.status === 'done'));
  assert.equal(integrity(join(dir, 'r.db')), 'ok');
});

test('SIGTERM during a search stops it as it stops run: the same words, exit 143, its runs given back, and the same command resumes', { timeout: 180_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'r.yaml', ROUNDS);
  const args = ['search', 'r.yaml', '--db', 'r.db', '--workers', '2', '--json'];
  const child = start(t, dir, args, { CONVERGE_FAULT: 'slow:300' });
  await waitForDb(join(dir, 'r.db'), 'a run in flight', (d) => (d.prepare(`SELECT count(*) FROM runs WHERE status = 'running'`).pluck().get() as number) >= 1);
  child.process.kill('SIGTERM');
  const r = await child.finished;
  assert.equal(r.code, 143, r.stderr);
  assert.equal(r.signal, null, 'it exited by itself, not by the signal');
  assert.match(r.stderr, /^SIGTERM: stopping the runs in flight \(SIGTERM or Ctrl-C again to stop at once\)…$/m);
  assert.match(r.stderr, /interrupted after \d+ runs?; the database is consistent\. Resume with: converge search r\.yaml --db r\.db --workers 2 --json$/m);
  const rows = readRuns(join(dir, 'r.db'));
  assert.ok(rows.every((x) => x.status !== 'running' && x.status !== 'failed'), 'no run left running');
  assert.ok(rows.some((x) => x.status === 'pending'), 'it stopped mid-search');
  const resumed = await converge(t, dir, args);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(readRuns(join(dir, 'r.db')).every((x) => x.status === 'done' && x.attempts === 1), 'resumed to the end; the stopped runs did not use up attempts');
});
