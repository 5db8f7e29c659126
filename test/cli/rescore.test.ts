import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, tempDir, writeSpec } from '../helpers';

const SPEC = (threshold: number) => `name: rescore
seed: 1
repeats: 6
train:
  epochs: 4
grid:
  seq_len: [12]
  n_samples: [10, 13]
converged:
  metric: pop_mae
  threshold: ${threshold}
`;

describe('converge run with a changed rule', () => {
  it('records population metrics for every epoch, trains nothing when only the threshold changes, and re-scores every run', () => {
    const dir = tempDir();
    const db = join(dir, 'r.db');
    const spec = writeSpec(dir, 'r.yaml', SPEC(0.05));
    const first = runCli(['run', spec, '--db', db, '--workers', '1', '--quiet']);
    assert.equal(first.code, 0, first.stderr);
    const raw = new Database(db, { readonly: true });
    assert.equal(raw.prepare(`SELECT count(*) FROM epochs WHERE pop_mae IS NULL OR pop_loss IS NULL OR pop_max_output IS NULL`).pluck().get(), 0);
    assert.equal(raw.prepare(`SELECT count(*) FROM epochs`).pluck().get(), 48);
    assert.equal(raw.prepare(`SELECT count(*) FROM runs WHERE alive_at_init IS NULL OR final_pop_mae IS NULL`).pluck().get(), 0);
    raw.close();

    writeSpec(dir, 'r.yaml', SPEC(0.3));
    const second = runCli(['run', spec, '--db', db, '--workers', '1', '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((JSON.parse(second.stdout) as { trained: number }).trained, 0);
    const human = runCli(['run', writeSpec(dir, 'r.yaml', SPEC(0.25)), '--db', db, '--workers', '1', '--quiet']);
    assert.match(human.stderr, /re-scored 12 runs: rule pop_mae < 0\.3 → pop_mae < 0\.25/);
    assert.match(human.stdout, /trained 0 runs/);

    const check = new Database(db, { readonly: true });
    // Converged per cell, recounted with plain SQL from the epochs table.
    const recount = check
      .prepare(
        `SELECT r.n_samples AS n, sum(r.alive_at_init = 1 AND e.pop_max_output > 0 AND e.pop_mae < 0.25) AS k
         FROM runs r JOIN epochs e ON e.run_id = r.id AND e.epoch = (SELECT max(epoch) FROM epochs WHERE run_id = r.id)
         GROUP BY r.n_samples ORDER BY r.n_samples`,
      )
      .all();
    const stored = check.prepare(`SELECT n_samples AS n, sum(outcome = 'converged') AS k FROM runs GROUP BY n_samples ORDER BY n_samples`).all();
    assert.deepEqual(stored, recount);
    // Both outcomes occur, so the recount could have disagreed.
    const total = (stored as { k: number }[]).reduce((s, c) => s + c.k, 0);
    assert.ok(total > 0 && total < 12, `converged ${total} of 12`);
    // Dead nets output 0 on every row: pop_mae is exactly the mean target, 0.5.
    const deadPop = check
      .prepare(`SELECT e.pop_mae FROM runs r JOIN epochs e ON e.run_id = r.id AND e.epoch = r.epochs_run WHERE r.outcome IN ('dead', 'dead_at_init')`)
      .pluck()
      .all() as number[];
    for (const p of deadPop) assert.ok(Math.abs(p - 0.5) < 1e-9, `pop_mae ${p}`);
    check.close();
  });
});
