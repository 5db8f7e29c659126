import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countOf, formatRule, sameRule, scoreRun, scoreStoredRun, scoreUserRun, userScoredEpoch, type Rule, type ScoredEpoch } from '../../src/outcome';

/** A user epoch reporting `metrics` (NaN/Inf become null as the store keeps them). */
const ep = (epoch: number, metrics: Record<string, number>): ScoredEpoch => userScoredEpoch({ epoch, metrics });

const below = (threshold: number, at: 'last' | 'best' = 'last'): Rule => ({ metric: 'loss', threshold, direction: 'below', at });
const above = (threshold: number, at: 'last' | 'best' = 'last'): Rule => ({ metric: 'accuracy', threshold, direction: 'above', at });

const scoreOf = (epochs: ScoredEpoch[], rule: Rule, budget?: number) => {
  const s = scoreUserRun(epochs, rule, budget);
  return [s.outcome, s.convergedEpoch, s.epoch, s.value];
};

describe('scoring a user trainer run', () => {
  const losses = [ep(1, { loss: 0.9 }), ep(2, { loss: 0.04 }), ep(3, { loss: 0.2 }), ep(4, { loss: 0.03 }), ep(5, { loss: 0.02 })];

  it('at last, below: converged from the first epoch of the final streak under the threshold', () => {
    assert.deepEqual(scoreOf(losses, below(0.05)), ['converged', 4, 5, 0.02]);
  });

  it('at last, below: the threshold itself is not below it (strict)', () => {
    assert.deepEqual(scoreOf([ep(1, { loss: 0.05 })], below(0.05)), ['not_converged', null, 1, 0.05]);
  });

  it('at last with a budget: scored as if the run stopped after that epoch', () => {
    assert.deepEqual(scoreOf(losses, below(0.05), 3), ['not_converged', null, 3, 0.2]);
    assert.deepEqual(scoreOf(losses, below(0.05), 2), ['converged', 2, 2, 0.04]);
  });

  it('at best, below: the minimum over the epochs up to the budget, converged at the best epoch', () => {
    assert.deepEqual(scoreOf(losses, below(0.05, 'best'), 3), ['converged', 2, 2, 0.04]);
    assert.deepEqual(scoreOf(losses, below(0.03, 'best'), 3), ['not_converged', null, 2, 0.04]);
    assert.deepEqual(scoreOf(losses, below(0.05, 'best')), ['converged', 5, 5, 0.02]);
  });

  it('above: an accuracy must end strictly above the threshold; at best takes the maximum, the first epoch on a tie', () => {
    const acc = [ep(1, { accuracy: 0.5 }), ep(2, { accuracy: 0.99 }), ep(3, { accuracy: 0.7 }), ep(4, { accuracy: 0.99 })];
    assert.deepEqual(scoreOf(acc, above(0.9)), ['converged', 4, 4, 0.99]);
    assert.deepEqual(scoreOf(acc, above(0.99)), ['not_converged', null, 4, 0.99]);
    assert.deepEqual(scoreOf(acc, above(0.9), 3), ['not_converged', null, 3, 0.7]);
    assert.deepEqual(scoreOf(acc, above(0.9, 'best'), 3), ['converged', 2, 2, 0.99]);
    assert.deepEqual(scoreOf(acc, above(0.9, 'best')), ['converged', 2, 2, 0.99]);
  });

  it('at last, when the last epoch lacks the metric, the last epoch that has it is scored; gaps do not break a streak', () => {
    const epochs = [ep(1, { loss: 0.01 }), ep(2, { val: 3 }), ep(3, { loss: 0.02 }), ep(4, { val: 1 })];
    assert.deepEqual(scoreOf(epochs, below(0.05)), ['converged', 1, 3, 0.02]);
  });

  it('any metric reported NaN or Inf up to the budget makes the run diverged; after the budget it does not count', () => {
    const epochs = [ep(1, { loss: 0.5, accuracy: 0.6 }), ep(2, { loss: 0.01, accuracy: Number.NaN }), ep(3, { loss: Number.POSITIVE_INFINITY })];
    assert.equal(epochs[1]!.extra!.accuracy, null);
    assert.equal(epochs[2]!.extra!.loss, null);
    assert.deepEqual(scoreOf(epochs, below(0.05)), ['diverged', null, 3, null]);
    assert.deepEqual(scoreOf(epochs, below(0.05), 2), ['diverged', null, 2, 0.01]);
    assert.deepEqual(scoreOf(epochs, below(0.6), 1), ['converged', 1, 1, 0.5]);
  });

  it('a run that never reported the rule metric (or reported no epoch) is no_metric, never not_converged', () => {
    const s = scoreUserRun([ep(1, { acc: 0.5 }), ep(2, { acc: 0.6 })], below(0.05));
    assert.deepEqual([s.outcome, s.epoch, s.value, s.lacksMetric], ['no_metric', 2, null, true]);
    assert.equal(scoreUserRun([], below(0.05)).outcome, 'no_metric');
    // Reported only after the budget: no metric up to it.
    assert.equal(scoreUserRun([ep(1, { acc: 0.5 }), ep(2, { loss: 0.01 })], below(0.05), 1).outcome, 'no_metric');
  });

  it('failed and timed_out runs keep their kind whatever they reported', () => {
    assert.equal(scoreUserRun(losses, below(0.05), undefined, 'failed').outcome, 'failed');
    assert.equal(scoreUserRun(losses, below(0.05), undefined, 'timed_out').outcome, 'timed_out');
  });

  it('a stored user run is scored by its trainer column: unfinished → none, failed → its kind, done → scoreUserRun', () => {
    const stored = (status: 'pending' | 'done' | 'failed', outcome: 'timed_out' | null = null) => ({ status, outcome, outputActivation: 'relu' as const, trainer: 'module' as const });
    assert.equal(scoreStoredRun(stored('pending'), losses, below(0.05)).outcome, null);
    assert.equal(scoreStoredRun(stored('failed', 'timed_out'), losses, below(0.05)).outcome, 'timed_out');
    assert.deepEqual(scoreStoredRun(stored('done'), losses, below(0.05)).convergedEpoch, 4);
    // No alive-at-init for a user run: a relu-looking flag set never makes it dead.
    assert.equal(scoreStoredRun({ ...stored('done'), aliveAtInit: false }, losses, below(0.05)).outcome, 'converged');
  });

  it('countOf puts no_metric out of n, as lacking the metric', () => {
    assert.equal(countOf({ status: 'done', outcome: 'no_metric' }, 'all'), 'lacks_metric');
    assert.equal(countOf({ status: 'done', outcome: 'converged' }, 'all'), 'converged');
  });

  it('rules differ by direction and epoch, and say so when printed', () => {
    assert.equal(sameRule({ metric: 'loss', threshold: 0.1 }, { metric: 'loss', threshold: 0.1, direction: 'below', at: 'last' }), true);
    assert.equal(sameRule(below(0.1), { ...below(0.1), at: 'best' }), false);
    assert.equal(sameRule({ metric: 'accuracy', threshold: 0.9, direction: 'below' }, above(0.9)), false);
    assert.equal(formatRule(above(0.9, 'best')), 'accuracy > 0.9 at the best epoch');
    assert.equal(formatRule({ metric: 'pop_mae', threshold: 0.05 }), 'pop_mae < 0.05');
  });
});

describe('a built-in rule at the best epoch', () => {
  const builtin = (epoch: number, popMae: number, popMaxOutput = 0.7): ScoredEpoch => ({ epoch, loss: 0.1, mae: 0.1, valLoss: 0.1, valMae: 0.1, popLoss: 0.1, popMae, unseenMae: 0.1, popMaxOutput });
  const alive = { failure: null, outputActivation: 'relu', aliveAtInit: true } as const;
  const rule = { metric: 'pop_mae', threshold: 0.05, at: 'best' } as const;

  it('scores the lowest value over the epochs up to the budget, converged at that epoch', () => {
    const epochs = [builtin(1, 0.3), builtin(2, 0.04), builtin(3, 0.2)];
    const s = scoreRun(epochs, alive, rule);
    assert.deepEqual([s.outcome, s.convergedEpoch, s.epoch, s.value], ['converged', 2, 2, 0.04]);
    assert.equal(scoreRun(epochs, alive, { metric: 'pop_mae', threshold: 0.05 }).outcome, 'not_converged');
    assert.equal(scoreRun(epochs, alive, rule, 1).outcome, 'not_converged');
  });

  it('a net dead at its last epoch stays dead whatever its best epoch was', () => {
    assert.equal(scoreRun([builtin(1, 0.01), builtin(2, 0.3, 0)], alive, rule).outcome, 'dead');
  });
});
