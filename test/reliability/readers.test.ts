import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, fileHash, integrity, sandbox, slowSpec, start, waitForDb, withDb, writeSpec } from './harness';

test('status, report and query run during a sweep, show partial progress, exit 0, never write, and do not block the writer', { timeout: 90_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'read.yaml', slowSpec('read', 5));
  const db = join(dir, 'read.db');
  // Each run held 1.5 s before it trains (CONVERGE_FAULT=slow:MS, numbers unchanged): on the fast
  // kernel the 10 runs otherwise finish before the three readers have started one after another.
  const writer = start(t, dir, ['run', 'read.yaml', '--db', 'read.db', '--workers', '2', '--quiet'], { CONVERGE_FAULT: 'slow:1500' });
  await waitForDb(db, 'a done run while others are still to train', (d) => {
    const done = d.prepare(`SELECT count(*) FROM runs WHERE status = 'done'`).pluck().get() as number;
    return done >= 1 && done <= 6;
  });

  const status = await converge(t, dir, ['status', 'read.db']);
  assert.equal(status.code, 0, status.stderr);
  const m = /(\d+)\/10 runs done/.exec(status.stdout);
  assert.ok(m && Number(m[1]) >= 1 && Number(m[1]) < 10, `status shows partial progress: ${status.stdout}`);

  const report = await converge(t, dir, ['report', 'read.db', '--format', 'json']);
  assert.equal(report.code, 0, report.stderr);
  const cells = JSON.parse(report.stdout) as { runs: number; done: number }[];
  const done = cells.reduce((s, c) => s + c.done, 0);
  assert.equal(cells.reduce((s, c) => s + c.runs, 0), 10);
  assert.ok(done >= 1 && done < 10, `report shows partial progress (${done}/10 done)`);

  const query = await converge(t, dir, ['query', 'read.db', '--where', 'status=done', '--format', 'json']);
  assert.equal(query.code, 0, query.stderr);
  assert.ok((JSON.parse(query.stdout) as unknown[]).length >= 1);

  // Readers open the file read-only: a writing statement is refused and changes nothing.
  const del = await converge(t, dir, ['query', 'read.db', '--sql', 'delete from runs']);
  assert.equal(del.code, 2);
  assert.match(del.stderr, /refused: the statement would modify the database.*\[query\.readOnly\]/);
  assert.equal(withDb(db, (d) => d.prepare('SELECT count(*) FROM runs').pluck().get()), 10);

  const w = await writer.finished;
  assert.equal(w.code, 0, `the writer finished despite the readers: ${w.stderr}`);
  assert.match(w.stdout, /10\/10 done/);
  assert.equal(integrity(db), 'ok');

  // On the finished file, readers leave the bytes exactly as they were.
  const hash = fileHash(db);
  for (const args of [['status', 'read.db'], ['report', 'read.db'], ['query', 'read.db', '--sql', 'select count(*) from epochs']]) {
    const r = await converge(t, dir, args);
    assert.equal(r.code, 0, r.stderr);
  }
  assert.equal(fileHash(db), hash, 'the database file is unchanged by status, report and query');
});
