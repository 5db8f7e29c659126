import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConvergeError } from '../../src/errors';
import { parseFilter } from '../../src/filter';
import { expandPlan } from '../../src/grid';
import { parseSpec, PARAM_NAMES } from '../../src/spec';
import { compileFilter, filterColumns, openDb, querySql, queryRuns, readRuns, syncPlan, uniqueNames } from '../../src/store';
import { tempDir } from '../helpers';

function fresh() {
  const dir = tempDir();
  const file = join(dir, 'f.db');
  const spec = parseSpec('name: f\nseed: 1\nrepeats: 3\ngrid:\n  seq_len: [20]\n  n_samples: [10, 15]\n  masking: [true, false]\n', 'f.yaml');
  const db = openDb(file);
  syncPlan(db, file, spec, expandPlan(spec));
  return db;
}

function refusal(fn: () => unknown): ConvergeError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConvergeError, String(e));
    return e;
  }
  assert.fail('accepted');
}

describe('filters compiled to SQL', () => {
  it('the names a filter may use are every parameter plus seed, status, outcome, engine and the final metrics', () => {
    const db = fresh();
    const names = filterColumns(db);
    for (const n of [...PARAM_NAMES, 'seed', 'status', 'outcome', 'engine', 'final_val_mae', 'final_loss', 'converged_epoch']) {
      assert.ok(names.includes(n), n);
    }
    for (const n of ['owner', 'lease_until', 'params_json', 'in_plan']) assert.ok(!names.includes(n), `${n} is bookkeeping`);
    db.close();
  });

  it('values are bound, never pasted: the SQL holds only quoted whitelisted names and placeholders', () => {
    const db = fresh();
    const c = compileFilter(db, parseFilter(`seq_len=20 and kernel_initializer="x' or 1=1 --" and masking=true`), 'r');
    assert.equal(c.sql, 'r."seq_len" = ? AND r."kernel_initializer" = ? AND r."masking" = ?');
    assert.deepEqual(c.params, [20, "x' or 1=1 --", 1]);
    assert.deepEqual(compileFilter(db, []), { sql: '1', params: [] });
    db.close();
  });

  it('an unknown name is refused with a suggestion and the valid names', () => {
    const db = fresh();
    const e = refusal(() => compileFilter(db, [{ key: 'seq_len; drop table runs', op: '=', value: 1 }]));
    assert.equal(e.code, 'filter.unknownName');
    assert.equal(e.exitCode, 2);
    const typo = refusal(() => compileFilter(db, parseFilter('n_sample=80')));
    assert.match(typo.message, /^unknown name "n_sample" \(did you mean n_samples\?\); names: id, run_key, seed, /);
    db.close();
  });

  it('a word for a number, a number for a boolean and a misspelt outcome or status are refused', () => {
    const db = fresh();
    assert.match(refusal(() => compileFilter(db, parseFilter('seq_len=long'))).message, /^seq_len is a number, got "long"$/);
    assert.match(refusal(() => compileFilter(db, parseFilter('masking=2'))).message, /^masking is true or false, got 2$/);
    assert.match(refusal(() => compileFilter(db, parseFilter('outcome!=ded'))).message, /got "ded" \(did you mean dead\?\)/);
    assert.match(refusal(() => compileFilter(db, parseFilter('status=finished'))).message, /^status is one of pending, running, done, failed/);
    db.close();
  });

  it('readRuns and queryRuns select the same runs with the same filter', () => {
    const db = fresh();
    const f = parseFilter('seed<=2 and masking=false and n_samples>10');
    const runs = readRuns(db, { where: f });
    assert.deepEqual(runs.map((r) => [r.seed, r.params.masking, r.params.n_samples]), [[1, false, 15], [2, false, 15]]);
    assert.deepEqual(queryRuns(db, f).map((r) => r.id), runs.map((r) => r.id));
    db.close();
  });

  it('query --sql keeps two result columns of one name apart', () => {
    const db = fresh();
    assert.deepEqual(querySql(db, 'select 1 as x, 2 as x, 3 as x_2'), [{ x: 1, x_2: 2, x_2_2: 3 }]);
    assert.deepEqual(uniqueNames(['a', 'a', 'a']), ['a', 'a_2', 'a_3']);
    db.close();
  });
});
