import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scoreRun, thinValidationWarning, type RunFlags, type ScoredEpoch } from '../../src/outcome';

const FLAGS: RunFlags = { failure: null, outputActivation: 'relu', aliveAtInit: true };
const epoch = (e: number, over: Partial<ScoredEpoch> = {}): ScoredEpoch => ({
  epoch: e, loss: 0.01, mae: 0.05, valLoss: null, valMae: null, popLoss: 0.001, popMae: 0.02, unseenMae: 0.03, popMaxOutput: 0.9, ...over,
});

describe('scoring a run without a validation split', () => {
  it('a run with null validation metrics at every epoch and finite population metrics is scored by pop_mae, not as diverged', () => {
    const s = scoreRun([epoch(1, { popMae: 0.2 }), epoch(2)], FLAGS, { metric: 'pop_mae', threshold: 0.05 });
    assert.equal(s.outcome, 'converged');
    assert.equal(s.convergedEpoch, 2);
  });

  it('it is diverged when its population metrics are non-finite (the check after the epoch without a split)', () => {
    const s = scoreRun([epoch(1), epoch(2, { popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null })], FLAGS, { metric: 'pop_mae', threshold: 0.05 });
    assert.equal(s.outcome, 'diverged');
  });

  it('a run with a split whose val metrics turn non-finite while its population metrics stay finite is still diverged', () => {
    const s = scoreRun([epoch(1, { valLoss: 0.01, valMae: 0.04 }), epoch(2)], FLAGS, { metric: 'pop_mae', threshold: 0.05 });
    assert.equal(s.outcome, 'diverged');
  });

  it('a run recorded before population metrics with null validation metrics stays diverged', () => {
    const old = epoch(1, { popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null });
    assert.equal(scoreRun([old], FLAGS, { metric: 'mae', threshold: 0.1 }).outcome, 'diverged');
  });

  it('under a validation rule it lacks the metric (out of n), it is not counted as a failure', () => {
    const s = scoreRun([epoch(1)], FLAGS, { metric: 'val_mae', threshold: 0.05 });
    assert.equal(s.outcome, null);
    assert.equal(s.lacksMetric, true);
  });
});

describe('the thin-validation warning', () => {
  it('says a cell with test_fraction 0 has no validation rows, not that they are few', () => {
    const w = thinValidationWarning({ metric: 'val_mae', threshold: 0.05 }, 'n_samples=2', { n_samples: 2, test_fraction: 0 });
    assert.equal(w, "warning: n_samples=2: the rule's metric val_mae has no validation rows here (test_fraction 0): its runs lack it; pop_mae scores all seq_len + 1 rows");
  });
});
