import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, converge, integrity, planKeys, readRuns, sandbox, slowSpec, start, waitForDb, writeSpec } from './harness';

/**
 * `converge <args> | head -<lines>` through a real shell pipe; returns converge's own exit code
 * (bash's PIPESTATUS), what head printed, and converge's stderr.
 */
function throughHead(dir: string, args: string[], lines: number): Promise<{ code: number; head: string; stderr: string }> {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const script = `${quoted} 2>converge.err | head -${lines}; echo "\${PIPESTATUS[0]}" > converge.code`;
  return new Promise((resolve, reject) => {
    const sh = spawn('bash', ['-c', script], { cwd: dir, env: { ...process.env, CONVERGE_FAULT: '' }, stdio: ['ignore', 'pipe', 'inherit'] });
    let head = '';
    sh.stdout.setEncoding('utf8').on('data', (s: string) => (head += s));
    sh.on('error', reject);
    sh.on('close', () =>
      resolve({
        code: Number(readFileSync(join(dir, 'converge.code'), 'utf8').trim()),
        head,
        stderr: readFileSync(join(dir, 'converge.err'), 'utf8'),
      }),
    );
  });
}

const noStackTrace = (stderr: string) => {
  assert.doesNotMatch(stderr, /^\s+at /m, `no stack trace:\n${stderr}`);
  assert.doesNotMatch(stderr, /unexpected error|Unhandled|EPIPE/i, `no crash report:\n${stderr}`);
};

test('`converge run spec | head -1` stops like an interrupt: exit 130, no run left running, no stack trace, and the same command resumes', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  const spec = writeSpec(dir, 'pipe.yaml', slowSpec('pipe', 4, 30));
  const db = join(dir, 'pipe.db');
  const r = await throughHead(dir, ['run', spec, '--db', 'pipe.db', '--workers', '2'], 1);
  assert.equal(r.head.split('\n').filter(Boolean).length, 1);
  assert.match(r.head, /^sweep pipe: 8 runs/);
  assert.ok(r.code === 130 || r.code === 0, `exit ${r.code}:\n${r.stderr}`);
  noStackTrace(r.stderr);
  const rows = readRuns(db);
  assert.ok(rows.every((x) => x.status !== 'running'), 'no run is left running');
  assert.ok(rows.every((x) => x.status !== 'failed'), 'nothing was marked failed');
  for (const x of rows) assert.equal(x.recorded, x.status === 'done' ? 30 : 0, `run ${x.id} has all its epochs or none`);
  if (r.code === 130) {
    assert.ok(rows.some((x) => x.status === 'pending'), 'it stopped mid-sweep');
    assert.match(r.stderr, /output closed: stopping the runs in flight/);
    assert.match(r.stderr, /Resume with: converge run pipe\.yaml --db pipe\.db/);
  }
  assert.equal(integrity(db), 'ok');
  const resumed = await converge(t, dir, ['run', spec, '--db', 'pipe.db', '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(readRuns(db).map((x) => x.run_key).sort(), planKeys(dir, spec));
  assert.ok(readRuns(db).every((x) => x.status === 'done' && x.recorded === 30));
});

test('`converge query … | head -2` prints two lines and no stack trace, exit 0', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'q.yaml', ['name: q', 'repeats: 2', 'data: {seq_len: 12, n_samples: 10}', 'train: {epochs: 2}', ''].join('\n'));
  const made = await converge(t, dir, ['run', 'q.yaml', '--db', 'q.db', '--quiet']);
  assert.equal(made.code, 0, made.stderr);
  // Far more than a pipe buffer (64 KiB), so the write really meets the closed pipe.
  const sql = 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 30000) SELECT x, x * 2 AS y FROM c';
  for (const format of ['table', 'csv', 'json']) {
    const r = await throughHead(dir, ['query', 'q.db', '--sql', sql, '--format', format], 2);
    assert.equal(r.head.split('\n').filter(Boolean).length, 2, r.head);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', `${format}: nothing on stderr`);
  }
});

test('SIGTERM stops like the first Ctrl-C and exits 143; the same command resumes', { timeout: 90_000 }, async (t) => {
  const dir = sandbox(t);
  const spec = writeSpec(dir, 'term.yaml', slowSpec('term'));
  const db = join(dir, 'term.db');
  const args = ['run', spec, '--db', 'term.db', '--workers', '2'];
  const child = start(t, dir, args);
  await waitForDb(db, 'a run in flight with epochs recorded', (d) =>
    (d.prepare(`SELECT count(*) FROM runs r WHERE status = 'running' AND EXISTS (SELECT 1 FROM epochs e WHERE e.run_id = r.id)`).pluck().get() as number) >= 1,
  );
  child.process.kill('SIGTERM');
  const r = await child.finished;
  assert.equal(r.code, 143, r.stderr);
  assert.equal(r.signal, null, 'it exited by itself, not by the signal');
  assert.match(r.stderr, /SIGTERM: stopping the runs in flight/);
  assert.match(r.stderr, /Resume with: converge run term\.yaml --db term\.db/);
  noStackTrace(r.stderr);
  const rows = readRuns(db);
  assert.ok(rows.every((x) => x.status !== 'running' && x.status !== 'failed'));
  assert.ok(rows.some((x) => x.status === 'pending'), 'it stopped mid-sweep');
  for (const x of rows) assert.equal(x.recorded, x.status === 'done' ? 30 : 0);
  const resumed = await converge(t, dir, [...args, '--quiet']);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(readRuns(db).every((x) => x.status === 'done' && x.recorded === 30 && x.attempts === 1), 'resumed to the end; the stopped runs did not use up attempts');
});
