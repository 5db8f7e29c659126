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
    const summary = JSON.parse(second.stdout) as { trained: number; rescored: { runs: number; from: { threshold: number }; to: { threshold: number } } };
    assert.equal(summary.trained, 0);
    assert.deepEqual([summary.rescored.runs, summary.rescored.from.threshold, summary.rescored.to.threshold], [12, 0.05, 0.3]);
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

describe('report, compare and query re-scoring at read time', () => {
  it('report --epoch E equals a plain-SQL recount at epoch E, --metric/--threshold re-score, and nothing is written', () => {
    const dir = tempDir();
    const db = join(dir, 'e.db');
    const spec = writeSpec(dir, 'e.yaml', SPEC(0.2).replace('epochs: 4', 'epochs: 6'));
    assert.equal(runCli(['run', spec, '--db', db, '--workers', '1', '--quiet']).code, 0);
    const raw = new Database(db, { readonly: true });
    const recount = (epoch: number, metric: string, t: number) =>
      raw
        .prepare(
          `SELECT r.n_samples AS n, sum(r.alive_at_init = 1 AND e.pop_max_output > 0 AND e.${metric} < ? AND NOT EXISTS
             (SELECT 1 FROM epochs d WHERE d.run_id = r.id AND d.epoch <= ? AND (d.loss IS NULL OR d.mae IS NULL OR d.val_loss IS NULL OR d.val_mae IS NULL))) AS k
           FROM runs r JOIN epochs e ON e.run_id = r.id AND e.epoch = ? GROUP BY r.n_samples ORDER BY r.n_samples`,
        )
        .all(t, epoch, epoch) as { n: number; k: number }[];
    const report = (...args: string[]) => {
      const r = runCli(['report', db, '--format', 'json', ...args]);
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { params: { n_samples: number }; converged: number; metric: string; threshold: number; epoch: number | null }[]);
    };
    const before = raw.prepare(`SELECT id, outcome, converged_epoch FROM runs ORDER BY id`).all();
    let differs = false;
    for (const epoch of [1, 3]) {
      const cells = report('--epoch', String(epoch));
      assert.deepEqual(cells.map((c) => ({ n: c.params.n_samples, k: c.converged })), recount(epoch, 'pop_mae', 0.2));
      assert.deepEqual([cells[0]!.metric, cells[0]!.threshold, cells[0]!.epoch], ['pop_mae', 0.2, epoch]);
      differs ||= JSON.stringify(recount(epoch, 'pop_mae', 0.2)) !== JSON.stringify(recount(6, 'pop_mae', 0.2));
    }
    assert.ok(differs, 'scoring at an earlier epoch changed some count');
    // Under the sweep's own rule report reads the stored outcomes; forcing a re-score from the
    // epochs (at the last epoch) gives the same cells.
    const stored = report();
    const rescored = report('--epoch', '6');
    assert.deepEqual(rescored.map((c) => ({ ...c, epoch: null })), stored);
    const val = report('--metric', 'val_mae', '--threshold', '0.1');
    assert.deepEqual(val.map((c) => ({ n: c.params.n_samples, k: c.converged })), recount(6, 'val_mae', 0.1));
    // query re-scores the outcome it filters on; the stored columns stay as they were.
    const q = runCli(['query', db, '--where', 'outcome=converged', '--epoch', '3', '--format', 'json']);
    assert.equal(q.code, 0, q.stderr);
    assert.equal((JSON.parse(q.stdout) as unknown[]).length, recount(3, 'pop_mae', 0.2).reduce((s, c) => s + c.k, 0));
    assert.deepEqual(raw.prepare(`SELECT id, outcome, converged_epoch FROM runs ORDER BY id`).all(), before);
    raw.close();
  });

  it('an epoch beyond the runs\' epochs is one line on stderr and exit 2', () => {
    const dir = tempDir();
    const db = join(dir, 'x.db');
    assert.equal(runCli(['run', writeSpec(dir, 'x.yaml', SPEC(0.2)), '--db', db, '--workers', '1', '--quiet']).code, 0);
    for (const cmd of [['report', db], ['query', db], ['compare', db, '--a', 'n_samples=10', '--b', 'n_samples=13']]) {
      const r = runCli([...cmd, '--epoch', '5']);
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.match(r.stderr, /--epoch 5: run \d+ trains only 4 epochs; choose an epoch from 1 to 4/);
    }
    const bad = runCli(['report', db, '--metric', 'accuracy']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--metric must be one of pop_mae, pop_loss, unseen_mae, val_mae, val_loss, mae, loss/);
  });
});

describe('compare of two databases', () => {
  it('scores both databases under the first one\'s rule, so the comparison never mixes rules', () => {
    const dir = tempDir();
    const a = join(dir, 'a.db');
    const b = join(dir, 'b.db');
    assert.equal(runCli(['run', writeSpec(dir, 'a.yaml', SPEC(0.2)), '--db', a, '--workers', '1', '--quiet']).code, 0);
    // The same runs under another rule: b's stored outcomes differ from a's.
    assert.equal(runCli(['run', writeSpec(dir, 'b.yaml', SPEC(0.2).replace('name: rescore', 'name: other').replace('metric: pop_mae', 'metric: val_mae')), '--db', b, '--workers', '1', '--quiet']).code, 0);
    const stored = (db: string) => {
      const raw = new Database(db, { readonly: true });
      const k = raw.prepare(`SELECT count(*) FROM runs WHERE outcome = 'converged'`).pluck().get() as number;
      raw.close();
      return k;
    };
    assert.notEqual(stored(a), stored(b), 'the two rules disagree on these runs');
    const r = runCli(['compare', a, b, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as { a: { k: number }; b: { k: number } };
    assert.deepEqual([c.a.k, c.b.k], [stored(a), stored(a)], 'same runs, same rule, same count');
  });
});
