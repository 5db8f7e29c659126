import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, readRuns, sandbox, withDb, writeSpec } from './harness';

test('a run whose loss really overflows to Inf/NaN is recorded as diverged, and the pool goes on with the other runs', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  // No fault injection: with learning_rate 1e300 the first Adam steps push the weights (and the
  // linear output) so far that the squared error overflows float64 in the first epoch.
  writeSpec(
    dir,
    'div.yaml',
    [
      'name: div',
      'seed: 1',
      'repeats: 3',
      'data:',
      '  seq_len: 20',
      '  n_samples: 20',
      'model:',
      '  output_activation: linear',
      'train:',
      '  epochs: 5',
      'grid:',
      '  learning_rate: [0.001, 1.0e+300]',
      '',
    ].join('\n'),
  );
  const r = await converge(t, dir, ['run', 'div.yaml', '--db', 'div.db', '--workers', '2', '--quiet']);
  assert.equal(r.code, 0, `diverging is a result, not a failure: ${r.stderr}`);

  const db = join(dir, 'div.db');
  const runs = readRuns(db);
  const lr = withDb(db, (d) => new Map((d.prepare('SELECT id, learning_rate FROM runs').all() as { id: number; learning_rate: number }[]).map((x) => [x.id, x.learning_rate])));
  const wild = runs.filter((x) => lr.get(x.id) === 1e300);
  const tame = runs.filter((x) => lr.get(x.id) === 0.001);
  assert.equal(wild.length, 3);
  assert.equal(tame.length, 3);
  for (const x of wild) {
    assert.equal(x.status, 'done');
    assert.equal(x.outcome, 'diverged');
    assert.ok(x.epochs_run !== null && x.epochs_run < 5, 'training stopped at the epoch that diverged');
    assert.equal(x.recorded, x.epochs_run, 'the epochs up to the divergence are recorded');
  }
  const nonFinite = withDb(db, (d) => d.prepare(`SELECT count(*) FROM epochs e JOIN runs r ON r.id = e.run_id WHERE r.outcome = 'diverged' AND e.loss IS NULL`).pluck().get() as number);
  assert.ok(nonFinite >= 3, 'the diverged epoch is stored with a NULL loss (SQLite has no NaN)');
  for (const x of tame) {
    assert.equal(x.status, 'done');
    assert.notEqual(x.outcome, 'diverged');
    assert.equal(x.recorded, 5, 'the pool kept training the other runs to the end');
  }

  const report = await converge(t, dir, ['report', 'div.db', '--format', 'json']);
  assert.equal(report.code, 0, report.stderr);
  const cells = JSON.parse(report.stdout) as { params: { learning_rate: number }; outcomes: { diverged: number } }[];
  assert.equal(cells.find((c) => c.params.learning_rate === 1e300)?.outcomes.diverged, 3);
  assert.equal(cells.find((c) => c.params.learning_rate === 0.001)?.outcomes.diverged, 0);
});
