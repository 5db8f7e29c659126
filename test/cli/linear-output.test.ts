import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { convergeSync, sandbox, withDb, writeSpec } from '../reliability/harness';

const SPEC = (threshold: number) =>
  [
    'name: linear-output',
    'seed: 0',
    'repeats: 3',
    'data: {seq_len: 9, n_samples: 10}',
    'train: {epochs: 2}',
    'grid: {output_activation: [relu, linear]}',
    `converged: {metric: pop_mae, threshold: ${threshold}}`,
    '',
  ].join('\n');

interface Cell { key: string; n: number; outcomes: Record<string, number> }

test('a linear-output run whose outputs are all <= 0 is never labelled dead, by report nor by re-scoring on a rule change', { timeout: 120_000 }, (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SPEC(0.05));
  const first = convergeSync(dir, ['run', 's.yaml', '--db', 's.db', '--workers', '1', '--quiet']);
  assert.equal(first.code, 0, first.stderr);
  // Every population output <= 0 at every epoch, on both output layers. Real training toward
  // targets in [0, 1] does not get there reliably, so the stored epochs say it.
  const db = new Database(join(dir, 's.db'));
  db.prepare(`UPDATE epochs SET pop_max_output = -0.1`).run();
  db.close();

  // Read-time scoring (report with another threshold).
  const r = convergeSync(dir, ['report', 's.db', '--threshold', '0.9', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const cells = JSON.parse(r.stdout) as Cell[];
  const cell = (a: string) => cells.find((c) => c.key === `output_activation=${a}`)!;
  const relu = cell('relu').outcomes;
  assert.equal((relu.dead ?? 0) + (relu.dead_at_init ?? 0), 3, 'a ReLU output <= 0 on every row is dead');
  assert.equal(cell('linear').outcomes.dead, 0);
  assert.equal(cell('linear').outcomes.dead_at_init, 0);
  assert.equal((cell('linear').outcomes.converged ?? 0) + (cell('linear').outcomes.not_converged ?? 0), 3);
  assert.equal(cell('linear').n, 3);

  // Re-scoring the stored outcomes (a rule change in the spec trains nothing and re-scores).
  writeSpec(dir, 's.yaml', SPEC(0.9));
  const second = convergeSync(dir, ['run', 's.yaml', '--db', 's.db', '--workers', '1', '--quiet']);
  assert.equal(second.code, 0, second.stderr);
  const stored = withDb(join(dir, 's.db'), (db) =>
    db.prepare(`SELECT output_activation AS a, outcome, count(*) AS n FROM runs GROUP BY 1, 2 ORDER BY 1, 2`).all(),
  ) as { a: string; outcome: string; n: number }[];
  assert.ok(stored.filter((s) => s.a === 'relu').every((s) => s.outcome === 'dead' || s.outcome === 'dead_at_init'), JSON.stringify(stored));
  assert.ok(stored.filter((s) => s.a === 'linear').every((s) => s.outcome === 'converged' || s.outcome === 'not_converged'), JSON.stringify(stored));
});
