import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDb, readEpochs, readRuns, SCHEMA_VERSION } from '../../src/store';
import { MIGRATIONS } from '../../src/store/migrations';
import { tempDir } from '../helpers';

const V2_RUN_COLS = `id, run_key, cell_key, in_plan, seed, repeat, engine, seq_len, n_samples, batch_size, epochs, test_fraction, units,
  activation, recurrent_activation, kernel_initializer, kernel_gain, recurrent_initializer, recurrent_gain, unit_forget_bias,
  masking, output_activation, optimizer, learning_rate, beta_1, beta_2, epsilon, loss, shuffle, params_json, backend, status,
  outcome, final_loss, final_mae, final_val_loss, final_val_mae, converged_epoch, epochs_run, seconds, error, attempts, owner,
  lease_until, started_at, finished_at`;

/** A schema-2 database built by the shipped migrations 1 and 2, with three runs at non-contiguous ids. */
function v2Database(): string {
  const file = join(tempDir(), 'v2.db');
  const db = new Database(file);
  db.exec(MIGRATIONS[0]!);
  db.exec(MIGRATIONS[1]!);
  db.exec(`INSERT INTO meta VALUES ('app', 'converge'), ('schema_version', '2')`);
  db.prepare(
    `INSERT INTO sweep VALUES (1, 'old', 'old.yaml', 'name: old', 'h', '["n_samples"]', 'val_mae', 0.05, 'then', 'then')`,
  ).run();
  const insert = db.prepare(
    `INSERT INTO runs (id, run_key, cell_key, seed, repeat, engine, seq_len, n_samples, batch_size, epochs, test_fraction, units, activation,
       recurrent_activation, kernel_initializer, kernel_gain, recurrent_initializer, recurrent_gain, unit_forget_bias, masking,
       output_activation, optimizer, learning_rate, beta_1, beta_2, epsilon, loss, shuffle, params_json, status, outcome, final_val_mae, converged_epoch, epochs_run)
     VALUES (@id, @key, 'c', @seed, 0, 'fused', 20, 10, 1, 2, 0.1, 10, 'tanh', 'sigmoid', 'orthogonal', 0.01, 'orthogonal', 1, 1, 1,
       'relu', 'adam', 0.001, 0.9, 0.999, 1e-7, 'mse', 1, '{}', @status, @outcome, @val, @ce, 2)`,
  );
  insert.run({ id: 5, key: 'a', seed: 0, status: 'done', outcome: 'converged', val: 0.01, ce: 2 });
  insert.run({ id: 7, key: 'b', seed: 1, status: 'done', outcome: 'dead', val: 0.3, ce: null });
  insert.run({ id: 9, key: 'c', seed: 2, status: 'failed', outcome: 'failed', val: null, ce: null });
  const ep = db.prepare(`INSERT INTO epochs (run_id, epoch, loss, mae, val_loss, val_mae, seconds) VALUES (?, ?, ?, ?, ?, ?, 1)`);
  for (const [id, vals] of [[5, [0.2, 0.01]], [7, [0.3, 0.3]]] as const) vals.forEach((v, i) => ep.run(id, i + 1, v, v, v, v));
  db.close();
  return file;
}

describe('migration 4 of the store (population metrics)', () => {
  it('upgrades a schema-2 database in place, keeping every run, id, value, index and epoch', () => {
    const file = v2Database();
    const raw = new Database(file, { readonly: true });
    const before = raw.prepare(`SELECT ${V2_RUN_COLS} FROM runs ORDER BY id`).all();
    const epochsBefore = raw.prepare(`SELECT * FROM epochs ORDER BY run_id, epoch`).all();
    raw.close();

    const db = openDb(file);
    assert.equal(db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), String(SCHEMA_VERSION));
    assert.deepEqual(db.prepare(`SELECT ${V2_RUN_COLS} FROM runs ORDER BY id`).all(), before);
    const epochsAfter = db.prepare(`SELECT run_id, epoch, loss, mae, val_loss, val_mae, seconds FROM epochs ORDER BY run_id, epoch`).all();
    assert.deepEqual(epochsAfter, epochsBefore);
    // New columns exist and are NULL for old rows.
    assert.deepEqual(db.prepare(`SELECT DISTINCT pop_mae, pop_loss, unseen_mae, pop_max_output FROM epochs`).all(), [
      { pop_mae: null, pop_loss: null, unseen_mae: null, pop_max_output: null },
    ]);
    assert.deepEqual(db.prepare(`SELECT DISTINCT alive_at_init, final_pop_mae FROM runs`).all(), [{ alive_at_init: null, final_pop_mae: null }]);
    // Indexes and the epochs foreign key survive the rebuild.
    const indexes = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all();
    assert.deepEqual(indexes, ['runs_cell', 'runs_claim', 'runs_finished', 'runs_status'], 'the rebuilt ones, and the claim and finish indexes of migration 5');
    const fk = db.prepare(`SELECT "table", "from", "to", on_delete FROM pragma_foreign_key_list('epochs')`).all();
    assert.deepEqual(fk, [{ table: 'runs', from: 'run_id', to: 'id', on_delete: 'CASCADE' }]);
    assert.equal(db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'runs_v4'`).pluck().get(), 0);
    // The CHECK admits the new outcome and still refuses nonsense.
    db.prepare(`UPDATE runs SET outcome = 'dead_at_init' WHERE id = 7`).run();
    assert.throws(() => db.prepare(`UPDATE runs SET outcome = 'bogus' WHERE id = 7`).run(), /CHECK constraint failed/);
    // Foreign keys are on again after the migration: deleting a run cascades to its epochs.
    assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
    db.prepare(`DELETE FROM runs WHERE id = 5`).run();
    assert.equal(db.prepare(`SELECT count(*) FROM epochs WHERE run_id = 5`).pluck().get(), 0);
    db.close();
  });

  it('leaves a schema-2 database readable by a read-only reader, with NULL population metrics', () => {
    const file = v2Database();
    const db = openDb(file, { readonly: true });
    const runs = readRuns(db);
    assert.deepEqual(runs.map((r) => [r.id, r.outcome, r.aliveAtInit]), [[5, 'converged', null], [7, 'dead', null], [9, 'failed', null]]);
    const epochs = readEpochs(db);
    assert.equal(epochs.length, 4);
    assert.ok(epochs.every((e) => e.popMae === null && e.popMaxOutput === null && e.valMae !== null));
    db.close();
    // Reading did not migrate it.
    const raw = new Database(file, { readonly: true });
    assert.equal(raw.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), '2');
    raw.close();
  });
});
