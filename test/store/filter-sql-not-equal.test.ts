import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseFilter } from '../../src/filter';
import { expandPlan } from '../../src/grid';
import { parseSpec } from '../../src/spec';
import { compileFilter, openDb, queryRuns, readRuns, syncPlan } from '../../src/store';
import { tempDir } from '../helpers';

test('a != filter keeps runs with no value (pending runs have no outcome): it means "is not"', () => {
  const file = join(tempDir(), 'f.db');
  const spec = parseSpec('name: f\nrepeats: 2\ngrid:\n  seq_len: [20]\n  n_samples: [10, 15]\n', 'f.yaml');
  const db = openDb(file);
  syncPlan(db, file, spec, expandPlan(spec));
  // One run recorded dead (as a finished run would be); the other three are pending, outcome NULL.
  db.prepare(`UPDATE runs SET status = 'done', outcome = 'dead' WHERE id = 1`).run();
  const notDead = parseFilter('outcome!=dead');
  assert.equal(compileFilter(db, notDead).sql, '"outcome" IS NOT ?');
  assert.deepEqual(readRuns(db, { where: notDead }).map((r) => r.id), [2, 3, 4]);
  assert.deepEqual(queryRuns(db, notDead).map((r) => r.id), [2, 3, 4]);
  // The same under read-time scoring, where the scored outcome of a pending run is NULL too.
  const scored = new Map(readRuns(db).map((r) => [r.id, { outcome: r.outcome, convergedEpoch: null }]));
  assert.deepEqual(queryRuns(db, notDead, scored).map((r) => r.id), [2, 3, 4]);
  // A number column: a run with no final metric is not "= 0.5", so it is "!= 0.5"; comparisons stay false on NULL.
  assert.deepEqual(readRuns(db, { where: parseFilter('final_val_mae!=0.5') }).map((r) => r.id), [1, 2, 3, 4]);
  assert.deepEqual(readRuns(db, { where: parseFilter('final_val_mae<0.5') }).map((r) => r.id), []);
  db.close();
});
