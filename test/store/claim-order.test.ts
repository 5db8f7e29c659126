import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCost } from '../../src/grid/cost';
import { expandPlan } from '../../src/grid';
import { parseSpec } from '../../src/spec';
import { claimRuns, openDb, syncPlan } from '../../src/store';
import { tempDir } from '../helpers';

/** Lengths listed shortest first, so plan (id) order is the worst order for two workers. */
const SPEC = `name: mixed
repeats: 2
train: {epochs: 3}
grid:
  batch_size: [1, 32]
cases:
  - {seq_len: 20, n_samples: 10}
  - {seq_len: 200, n_samples: 130}
  - {seq_len: 2000, n_samples: 50}
  - {seq_len: 2000, n_samples: 1200}
`;

describe('claim order', () => {
  it('claims take the costliest runs first (grid/cost.ts runCost), ties in plan order, one at a time as workers free up', () => {
    const dir = tempDir();
    const file = join(dir, 'mixed.db');
    const spec = parseSpec(SPEC, 'mixed.yaml');
    const plan = expandPlan(spec);
    const db = openDb(file);
    syncPlan(db, file, spec, plan);
    const claimed: string[] = [];
    for (;;) {
      const [r] = claimRuns(db, { owner: 'w', limit: 1, leaseSeconds: 60, retries: 0 });
      if (!r) break;
      claimed.push(r.runKey);
    }
    // The expected order computed apart from SQL: sort the plan by runCost, descending, stable.
    const expected = plan.runs
      .map((r, i) => ({ key: r.runKey, cost: runCost(r.params), i }))
      .sort((a, b) => b.cost - a.cost || a.i - b.i)
      .map((r) => r.key);
    assert.equal(claimed.length, 16);
    assert.deepEqual(claimed, expected);
    const first = plan.runs.find((r) => r.runKey === claimed[0])!.params;
    assert.deepEqual([first.seq_len, first.n_samples, first.batch_size], [2000, 1200, 1]);
    db.close();
  });
});
