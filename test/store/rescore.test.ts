import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { expandPlan } from '../../src/grid';
import { scoreRun, toScoredEpoch } from '../../src/outcome';
import { parseSpec } from '../../src/spec';
import { claimRuns, failRun, finishRun, openDb, recordEpoch, syncPlan } from '../../src/store';
import type { EpochMetrics } from '../../src/train/contract';
import { tempDir } from '../helpers';

const spec = (rule: string) => parseSpec(`name: rs\nrepeats: 6\ngrid:\n  seq_len: [20]\n  n_samples: [10]\ntrain:\n  epochs: 3\n${rule}`, 'rs.yaml');

/** Final pop_mae of run i: spread over [0.02, 0.14] so thresholds 0.05 and 0.1 split the runs differently. */
const finalPop = (i: number) => 0.02 + 0.024 * i;

function epochsOf(i: number): EpochMetrics[] {
  return [1, 2, 3].map((epoch) => {
    const pop = epoch === 3 ? finalPop(i) : 0.3 / epoch;
    return { epoch, loss: 0.1, mae: 0.2, valLoss: 0.1, valMae: 0.001 * i, popLoss: pop * pop, popMae: pop, unseenMae: pop, popMaxOutput: i === 5 ? 0 : 0.9, seconds: 0 };
  });
}

describe('re-scoring stored runs when the rule changes', () => {
  it('syncPlan re-scores every finished run from its epochs in the same transaction, and adds no run', () => {
    const file = join(tempDir(), 'rs.db');
    const db = openDb(file);
    const s1 = spec('converged: {metric: pop_mae, threshold: 0.05}');
    syncPlan(db, file, s1, expandPlan(s1));
    const runs = claimRuns(db, { owner: 'o', limit: 10, leaseSeconds: 60, retries: 0 });
    runs.forEach((r, i) => {
      const claim = { id: r.id, owner: 'o' };
      if (i === 4) {
        failRun(db, claim, 'failed', 'worker died', 1);
        return;
      }
      const epochs = epochsOf(i);
      for (const m of epochs) recordEpoch(db, claim, m);
      const aliveAtInit = i !== 0;
      const c = scoreRun(epochs.map(toScoredEpoch), { failure: null, outputActivation: 'relu', aliveAtInit }, s1.converged);
      finishRun(db, claim, { backend: 'test', outcome: c.outcome, aliveAtInit, final: epochs[2], convergedEpoch: c.convergedEpoch, epochsRun: 3, seconds: 1 });
    });
    const outcomes = () => db.prepare(`SELECT outcome, converged_epoch AS ce FROM runs ORDER BY id`).all() as { outcome: string; ce: number | null }[];
    assert.deepEqual(outcomes().map((o) => o.outcome), ['dead_at_init', 'converged', 'not_converged', 'not_converged', 'failed', 'dead']);
    assert.equal(syncPlan(db, file, s1, expandPlan(s1)).rescored, undefined);

    const s2 = spec('converged: {metric: pop_mae, threshold: 0.1}');
    const sync = syncPlan(db, file, s2, expandPlan(s2));
    assert.equal(sync.added, 0);
    assert.equal(sync.rescored?.runs, 6);
    assert.equal(sync.rescored?.text, 'rule pop_mae < 0.05 → pop_mae < 0.1');
    // Run 0 is dead at init and run 5 dead: never converged; runs 1..3 have final pop_mae 0.044, 0.068, 0.092.
    assert.deepEqual(outcomes(), [
      { outcome: 'dead_at_init', ce: null },
      { outcome: 'converged', ce: 3 },
      { outcome: 'converged', ce: 3 },
      { outcome: 'converged', ce: 3 },
      { outcome: 'failed', ce: null },
      { outcome: 'dead', ce: null },
    ]);
    // The columns equal a plain-SQL recount from the epochs table, for the alive, finished runs.
    const recount = db
      .prepare(
        `SELECT count(*) FROM runs r JOIN epochs e ON e.run_id = r.id AND e.epoch = r.epochs_run
         WHERE r.status = 'done' AND r.alive_at_init = 1 AND e.pop_max_output > 0 AND e.pop_mae < 0.1`,
      )
      .pluck()
      .get();
    assert.equal(recount, db.prepare(`SELECT count(*) FROM runs WHERE outcome = 'converged'`).pluck().get());
    assert.equal(db.prepare(`SELECT converged_metric || ' ' || converged_threshold FROM sweep`).pluck().get(), 'pop_mae 0.1');

    const s3 = spec('converged: {metric: val_mae, threshold: 0.0025}');
    syncPlan(db, file, s3, expandPlan(s3));
    assert.deepEqual(outcomes().map((o) => o.outcome), ['dead_at_init', 'converged', 'converged', 'not_converged', 'failed', 'dead']);
    db.close();
  });

  it('a run that trained under the old rule while another process changed it is stored under the new rule', () => {
    const file = join(tempDir(), 'race.db');
    const db = openDb(file);
    const old = spec('converged: {metric: pop_mae, threshold: 0.05}');
    syncPlan(db, file, old, expandPlan(old));
    const [r] = claimRuns(db, { owner: 'o', limit: 1, leaseSeconds: 60, retries: 0 });
    // Meanwhile another `converge run` records a new rule (nothing finished yet to re-score).
    const now = spec('converged: {metric: pop_mae, threshold: 0.1}');
    assert.equal(syncPlan(db, file, now, expandPlan(now)).rescored?.runs, 0);
    const epochs = epochsOf(2); // final pop_mae 0.068: not converged at 0.05, converged at 0.1
    for (const m of epochs) recordEpoch(db, { id: r!.id, owner: 'o' }, m);
    const c = scoreRun(epochs.map(toScoredEpoch), { failure: null, outputActivation: 'relu', aliveAtInit: true }, old.converged);
    assert.equal(c.outcome, 'not_converged');
    assert.ok(finishRun(db, { id: r!.id, owner: 'o' }, { backend: 'test', outcome: c.outcome, aliveAtInit: true, rule: old.converged, final: epochs[2], convergedEpoch: null, epochsRun: 3, seconds: 1 }));
    assert.deepEqual(db.prepare(`SELECT outcome, converged_epoch AS ce FROM runs WHERE id = ?`).get(r!.id), { outcome: 'converged', ce: 3 });
    db.close();
  });
});
