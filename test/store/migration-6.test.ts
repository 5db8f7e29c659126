import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { openDb, SCHEMA_VERSION } from '../../src/store';
import { MIGRATIONS } from '../../src/store/migrations';
import { buildDb } from '../cli/synthetic-db';
import { runCli } from '../helpers';

/** Every column of runs at schema 5. */
const V5_RUN_COLS = `id, run_key, cell_key, in_plan, seed, repeat, engine, seq_len, n_samples, batch_size, epochs, test_fraction, units,
  activation, recurrent_activation, kernel_initializer, kernel_gain, recurrent_initializer, recurrent_gain, unit_forget_bias,
  masking, output_activation, optimizer, learning_rate, beta_1, beta_2, epsilon, loss, shuffle, params_json, backend, status,
  outcome, final_loss, final_mae, final_val_loss, final_val_mae, converged_epoch, epochs_run, seconds, error, attempts, owner,
  lease_until, started_at, finished_at, trained_by, alive_at_init, final_pop_loss, final_pop_mae, final_unseen_mae, cost, given_up`;

const SPEC = `name: v5
seed: 3
repeats: 4
train:
  epochs: 3
grid:
  seq_len: [12]
  n_samples: [10, 13]
  batch_size: [1, 4]
`;

/**
 * A schema-5 database built by the shipped migrations 1 to 5, holding the runs (ids, epochs,
 * outcomes, a failed and a pending one) of a real sweep written through the store.
 */
function v5Database(withPending = true): { dir: string; file: string } {
  const src = buildDb(SPEC, (p, seed) => (Number(p.batch_size) === 1 ? seed % 2 === 0 : seed === 3), 'src.db', {
    curve: (_p, seed, c) => (c ? [0.3, 0.04, 0.02] : [0.3, 0.2, 0.1 + seed / 100]),
    alive: (_p, seed) => seed !== 5,
  });
  const file = join(src.dir, 'v5.db');
  writeFileSync(join(src.dir, 'syn.yaml'), SPEC);
  const db = new Database(file);
  for (const m of MIGRATIONS.slice(0, 5)) db.exec(m);
  db.exec(`INSERT INTO meta VALUES ('app', 'converge'), ('schema_version', '5')`);
  db.exec(`ATTACH '${src.file}' AS src`);
  db.exec(`INSERT INTO sweep SELECT id, name, spec_path, spec_text, spec_hash, axes, converged_metric, converged_threshold, created_at, updated_at FROM src.sweep`);
  db.exec(`INSERT INTO spec_versions SELECT * FROM src.spec_versions`);
  db.exec(`INSERT INTO runs (${V5_RUN_COLS}) SELECT ${V5_RUN_COLS} FROM src.runs`);
  db.exec(`INSERT INTO epochs SELECT * FROM src.epochs`);
  // A failed run and a pending one, at ids that leave a gap.
  db.exec(`UPDATE runs SET status = 'failed', outcome = 'failed', error = 'boom' WHERE id = 2`);
  if (withPending) {
    db.exec(`UPDATE runs SET given_up = 1 WHERE id = 2`);
    db.exec(`DELETE FROM runs WHERE id = 7`);
    db.exec(`UPDATE runs SET status = 'pending', outcome = NULL, finished_at = NULL WHERE id = 5`);
    db.exec(`DELETE FROM epochs WHERE run_id = 5`);
  }
  db.exec(`DETACH src`);
  db.close();
  return { dir: src.dir, file };
}

function snapshot(file: string) {
  const raw = new Database(file, { readonly: true });
  const out = {
    runs: raw.prepare(`SELECT ${V5_RUN_COLS} FROM runs ORDER BY id`).all(),
    epochs: raw.prepare(`SELECT run_id, epoch, loss, mae, val_loss, val_mae, seconds, pop_loss, pop_mae, unseen_mae, pop_max_output FROM epochs ORDER BY run_id, epoch`).all(),
    tally: raw.prepare(`SELECT * FROM run_tally WHERE n > 0 ORDER BY status, outcome`).all(),
    sweep: raw.prepare(`SELECT id, name, spec_path, spec_text, spec_hash, axes, converged_metric, converged_threshold, created_at, updated_at FROM sweep`).all(),
    // Indexes and triggers on runs, as SQLite stores their text.
    schema: raw.prepare(`SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'runs' AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name`).all(),
    version: raw.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(),
  };
  raw.close();
  return out;
}

function report(file: string, ...args: string[]): string {
  const r = runCli(['report', file, ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('migration 6 of the store (user trainers)', () => {
  it('upgrades a schema-5 database in place, keeping every run, id, epoch, tally, index and trigger', () => {
    const { file } = v5Database();
    const before = snapshot(file);
    assert.equal(before.version, '5');
    assert.ok(before.runs.length > 10 && before.epochs.length > 20);
    openDb(file).close();
    const after = snapshot(file);
    assert.equal(after.version, String(SCHEMA_VERSION));
    assert.deepEqual(after.runs, before.runs);
    assert.deepEqual(after.epochs, before.epochs);
    assert.deepEqual(after.tally, before.tally);
    assert.deepEqual(after.sweep, before.sweep);
    assert.deepEqual(after.schema, before.schema, 'runs_status, runs_cell, runs_claim, runs_finished and the run_tally triggers, recreated identically');
    const raw = new Database(file);
    assert.deepEqual(raw.prepare(`SELECT DISTINCT trainer, code_hash, process_json FROM runs`).all(), [{ trainer: 'builtin', code_hash: null, process_json: null }]);
    assert.equal(raw.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'runs_v6'`).pluck().get(), 0);
    assert.deepEqual(raw.prepare(`SELECT "table", "from", "to", on_delete FROM pragma_foreign_key_list('epochs')`).all(), [{ table: 'runs', from: 'run_id', to: 'id', on_delete: 'CASCADE' }]);
    // The CHECK admits no_metric, refuses nonsense; built-in columns take NULL for a user run.
    raw.prepare(`UPDATE runs SET outcome = 'no_metric' WHERE id = 3`).run();
    assert.throws(() => raw.prepare(`UPDATE runs SET outcome = 'bogus' WHERE id = 3`).run(), /CHECK constraint failed/);
    raw.prepare(`INSERT INTO runs (run_key, cell_key, seed, repeat, params_json, trainer) VALUES ('u', 'cu', 1, 0, '{"h":2}', 'module')`).run();
    assert.throws(() => raw.prepare(`INSERT INTO runs (run_key, cell_key, seed, repeat, params_json, trainer) VALUES ('v', 'cu', 1, 0, '{}', 'shell')`).run(), /CHECK constraint failed/);
    // The triggers still keep run_tally: the new pending run is counted.
    const pending = (raw.prepare(`SELECT n FROM run_tally WHERE status = 'pending' AND outcome = ''`).pluck().get() as number);
    assert.equal(pending, (before.tally as { status: string; outcome: string; n: number }[]).find((t) => t.status === 'pending')!.n + 1);
    raw.close();
  });

  it('prints the same report (text, JSON, CSV, HTML) after the upgrade, and resuming its sweep trains nothing', () => {
    const { dir, file } = v5Database(false);
    const formats = ['table', 'md', 'json', 'csv', 'html'];
    const all = () => formats.map((f) => (f === 'html' ? (report(file, '--out', join(dir, 'r.html')), readFileSync(join(dir, 'r.html'), 'utf8')) : report(file, '--format', f)));
    const before = all();
    assert.equal(snapshot(file).version, '5', 'a reader never migrates');
    const run = runCli(['run', 'syn.yaml', '--db', 'v5.db', '--workers', '1', '--quiet'], { cwd: dir });
    assert.match(run.stdout, /trained 0 runs/, run.stderr); // the failed run is not retried without --retries
    assert.doesNotMatch(run.stderr, /re-scored/);
    assert.equal(snapshot(file).version, String(SCHEMA_VERSION));
    const after = all();
    // The HTML names the time it was made; everything else is byte for byte the same.
    const stable = (s: string) => s.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, 'T');
    assert.deepEqual(after.map(stable), before.map(stable));
  });
});
