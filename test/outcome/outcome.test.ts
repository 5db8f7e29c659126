import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OUTCOMES, scoreRun, scoreStoredRun, toScoredEpoch, type ScoredEpoch } from '../../src/outcome';

/** An epoch with every metric set to `v` and a live output, unless overridden. */
function ep(epoch: number, v: number, over: Partial<ScoredEpoch> = {}): ScoredEpoch {
  return { epoch, loss: v, mae: v, valLoss: v, valMae: v, popLoss: v, popMae: v, unseenMae: v, popMaxOutput: 0.7, ...over };
}
const alive = { failure: null, outputActivation: 'relu', aliveAtInit: true } as const;
const rule = { metric: 'pop_mae', threshold: 0.05 } as const;

describe('the outcome of a run', () => {
  it('lists the eight outcomes in display order, converged first and infrastructure last', () => {
    assert.deepEqual([...OUTCOMES], ['converged', 'not_converged', 'dead_at_init', 'dead', 'diverged', 'no_metric', 'failed', 'timed_out']);
  });

  it('is converged when the final metric is below the threshold, from the first epoch of the final streak', () => {
    const epochs = [ep(1, 0.3), ep(2, 0.04), ep(3, 0.2), ep(4, 0.04), ep(5, 0.03)];
    const s = scoreRun(epochs, alive, rule);
    assert.deepEqual([s.outcome, s.convergedEpoch, s.epoch, s.value], ['converged', 4, 5, 0.03]);
  });

  it('is not_converged when the final metric equals the threshold (the rule is strict)', () => {
    assert.equal(scoreRun([ep(1, 0.05)], alive, rule).outcome, 'not_converged');
  });

  it('reads the rule metric the rule names, not another one', () => {
    const epochs = [ep(1, 0.3, { valMae: 0.01 })];
    assert.equal(scoreRun(epochs, alive, rule).outcome, 'not_converged');
    assert.equal(scoreRun(epochs, alive, { metric: 'val_mae', threshold: 0.05 }).outcome, 'converged');
  });

  it('never calls a net that was dead at initialisation converged, even when its validation MAE is 0', () => {
    const epochs = [ep(1, 0.5, { valMae: 0, popMaxOutput: 0 })];
    const s = scoreRun(epochs, { failure: null, outputActivation: 'relu', aliveAtInit: false }, { metric: 'val_mae', threshold: 0.05 });
    assert.equal(s.outcome, 'dead_at_init');
    assert.equal(s.convergedEpoch, null);
  });

  it('is dead when alive at init but the output is <= 0 on every population row at the scored epoch', () => {
    const epochs = [ep(1, 0.2), ep(2, 0.01, { popMaxOutput: 0 })];
    assert.equal(scoreRun(epochs, alive, { metric: 'val_mae', threshold: 0.05 }).outcome, 'dead');
    // With a budget of one epoch the run was still alive then.
    assert.equal(scoreRun(epochs, alive, rule, 1).outcome, 'not_converged');
  });

  it('is diverged when an epoch up to the budget has a non-finite (stored NULL) train or validation metric', () => {
    const epochs = [ep(1, 0.01), ep(2, 0.01), ep(3, 0.01, { loss: null })];
    assert.equal(scoreRun(epochs, alive, rule).outcome, 'diverged');
    assert.equal(scoreRun(epochs, alive, rule, 2).outcome, 'converged');
    assert.equal(scoreRun([ep(1, 0.01, { valMae: null })], alive, rule).outcome, 'diverged');
  });

  it('keeps the failure kind of a run that did not finish training, whatever its epochs say', () => {
    assert.equal(scoreRun([ep(1, 0.01)], { failure: 'failed', outputActivation: 'relu', aliveAtInit: true }, rule).outcome, 'failed');
    assert.equal(scoreRun([], { failure: 'timed_out', outputActivation: 'relu', aliveAtInit: null }, rule).outcome, 'timed_out');
  });

  it('scores at the budget epoch: the metric and the streak are those of epochs 1..E', () => {
    const epochs = [ep(1, 0.3), ep(2, 0.04), ep(3, 0.03), ep(4, 0.2)];
    assert.deepEqual(scoreRun(epochs, alive, rule, 3), { outcome: 'converged', convergedEpoch: 2, epoch: 3, value: 0.03, lacksMetric: false });
    assert.equal(scoreRun(epochs, alive, rule).outcome, 'not_converged');
  });

  it('gives no outcome, and says so, to a run that lacks the rule metric (recorded before population metrics)', () => {
    const old = [ep(1, 0.01, { popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null })];
    const s = scoreRun(old, { failure: null, outputActivation: 'relu', aliveAtInit: null }, rule);
    assert.deepEqual([s.outcome, s.lacksMetric], [null, true]);
    assert.equal(scoreRun(old, { failure: null, outputActivation: 'relu', aliveAtInit: null }, { metric: 'val_mae', threshold: 0.05 }).outcome, 'converged');
  });

  it('keeps an old run recorded dead (no pop_max_output) dead at its last epoch only', () => {
    const old = [1, 2].map((e) => ep(e, 0.3, { popLoss: null, popMae: null, unseenMae: null, popMaxOutput: null }));
    const stored = { status: 'done', outcome: 'dead', aliveAtInit: null, outputActivation: 'relu' } as const;
    assert.equal(scoreStoredRun(stored, old, { metric: 'val_mae', threshold: 0.5 }).outcome, 'dead');
    assert.equal(scoreStoredRun(stored, old, { metric: 'val_mae', threshold: 0.5 }, 1).outcome, 'converged');
  });

  it('has no outcome for a run still pending or running', () => {
    assert.equal(scoreStoredRun({ status: 'running', outcome: null, aliveAtInit: true, outputActivation: 'relu' }, [ep(1, 0.01)], rule).outcome, null);
  });

  it('maps engine metrics the way the store keeps them: NaN and Inf become null', () => {
    const e = toScoredEpoch({ epoch: 2, loss: NaN, mae: Infinity, valLoss: 0.1, valMae: 0.2, popLoss: 0.3, popMae: 0.4, unseenMae: null, popMaxOutput: -1 });
    assert.deepEqual(e, { epoch: 2, loss: null, mae: null, valLoss: 0.1, valMae: 0.2, popLoss: 0.3, popMae: 0.4, unseenMae: null, popMaxOutput: -1 });
  });
});
