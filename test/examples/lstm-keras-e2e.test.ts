import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers';
import { converge, sandbox, withDb, writeSpec } from '../reliability/harness';

/**
 * examples/lstm-tfjs and examples/keras-replay through the real `converge` CLI (needs the spec,
 * store and execution parts of issue 18): what the database holds for a user trainer's run is
 * what the trainer reported.
 */

interface Value {
  epoch: number;
  name: string;
  value: number | null;
}

/** Every recorded value of a database's only run, through the view that works for any trainer. */
function valuesOf(file: string): Value[] {
  return withDb(file, (db) => db.prepare(`SELECT epoch, name, value FROM metric_values ORDER BY name, epoch`).all() as Value[]);
}

describe('the lstm-tfjs and keras-replay examples through the converge CLI', () => {
  it('a run of lstm.mjs records the same epochs as a built-in engine: tfjs run of the same cell and seed, within 1e-6', { timeout: 300_000 }, async (t) => {
    const dir = sandbox(t);
    writeSpec(dir, 'builtin.yaml', ['name: lstm-builtin', 'engine: tfjs', 'seed: 4', 'repeats: 1', 'data: {seq_len: 12, n_samples: 10, test_fraction: 0.2}', 'train: {epochs: 4}', ''].join('\n'));
    writeSpec(
      dir,
      'module.yaml',
      [
        'name: lstm-module',
        `trainer: {module: ${JSON.stringify(join(ROOT, 'examples', 'lstm-tfjs', 'lstm.mjs'))}}`,
        'grid: {seq_len: [12], n_samples: [10], test_fraction: [0.2], epochs: [4]}',
        'seed: 4',
        'repeats: 1',
        'converged: {metric: pop_mae, below: 0.05}',
        '',
      ].join('\n'),
    );
    const b = await converge(t, dir, ['run', 'builtin.yaml', '--db', 'builtin.db', '--workers', '1']);
    assert.equal(b.code, 0, b.stderr);
    const m = await converge(t, dir, ['run', 'module.yaml', '--db', 'module.db', '--workers', '1']);
    assert.equal(m.code, 0, m.stderr);
    const module = valuesOf(join(dir, 'module.db'));
    const names = new Set(module.map((v) => v.name));
    assert.deepEqual([...names].sort(), ['loss', 'mae', 'pop_loss', 'pop_mae', 'pop_max_output', 'unseen_mae', 'val_loss', 'val_mae']);
    // The built-in view may list more columns (seconds…); the ones the module reports must agree.
    const builtin = valuesOf(join(dir, 'builtin.db')).filter((v) => names.has(v.name));
    assert.deepEqual(
      module.map((v) => [v.name, v.epoch]),
      builtin.map((v) => [v.name, v.epoch]),
    );
    assert.equal(module.length, 4 * 8, 'eight metrics over four epochs');
    module.forEach((v, i) => assert.ok(Math.abs(v.value! - builtin[i]!.value!) <= 1e-6, `${v.name} at epoch ${v.epoch}: module ${v.value}, built-in ${builtin[i]!.value}`));
  });

  it('converge run examples/keras-replay/sweep.yaml records the Keras log’s 50 epochs exactly and scores them by the rule (val_mae below 0.05)', { timeout: 120_000 }, async (t) => {
    const dir = sandbox(t);
    const db = join(dir, 'replay.db');
    const r = await converge(t, ROOT, ['run', join(ROOT, 'examples', 'keras-replay', 'sweep.yaml'), '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const expected = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'keras-verbose2.expected.json'), 'utf8')) as { epoch: number; metrics: Record<string, number> }[];
    const runs = withDb(db, (d) => d.prepare(`SELECT id, outcome, trainer FROM runs ORDER BY id`).all()) as { id: number; outcome: string; trainer: string }[];
    assert.equal(runs.length, 2);
    for (const run of runs) {
      assert.equal(run.trainer, 'command');
      assert.equal(run.outcome, 'converged');
      const values = withDb(db, (d) => d.prepare(`SELECT epoch, name, value FROM metric_values WHERE run_id = ? ORDER BY epoch`).all(run.id)) as Value[];
      const recorded = expected.map((e) => ({ epoch: e.epoch, metrics: Object.fromEntries(values.filter((v) => v.epoch === e.epoch).map((v) => [v.name, v.value])) }));
      assert.deepEqual(recorded, expected);
      assert.equal(values.length, 50 * 4);
    }
  });
});
