import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scoreRun, scoreStoredRun, type ScoredEpoch } from '../../src/outcome';

/** An epoch whose population outputs are all <= 0 (pop_max_output -0.2), with pop_mae `v`. */
const nonPositive = (epoch: number, v: number): ScoredEpoch => ({
  epoch, loss: v, mae: v, valLoss: v, valMae: v, popLoss: v, popMae: v, unseenMae: v, popMaxOutput: -0.2,
});
const rule = { metric: 'pop_mae', threshold: 0.6 } as const;

test('a linear-output run whose outputs are all <= 0 is scored by its metric, never dead', () => {
  const epochs = [nonPositive(1, 0.7), nonPositive(2, 0.5)];
  assert.equal(scoreRun(epochs, { failure: null, outputActivation: 'relu', aliveAtInit: true }, rule).outcome, 'dead');
  assert.equal(scoreRun(epochs, { failure: null, outputActivation: 'linear', aliveAtInit: true }, rule).outcome, 'converged');
  assert.equal(scoreRun(epochs, { failure: null, outputActivation: 'linear', aliveAtInit: true }, rule, 1).outcome, 'not_converged');
});

test('a linear-output run is never dead at init, nor dead as recorded before population metrics', () => {
  const epochs = [nonPositive(1, 0.5)];
  assert.equal(scoreRun(epochs, { failure: null, outputActivation: 'relu', aliveAtInit: false }, rule).outcome, 'dead_at_init');
  assert.equal(scoreRun(epochs, { failure: null, outputActivation: 'linear', aliveAtInit: false }, rule).outcome, 'converged');
  const old = [{ ...nonPositive(1, 0.5), popMaxOutput: null }];
  const recorded = { status: 'done', outcome: 'dead', aliveAtInit: null } as const;
  assert.equal(scoreStoredRun({ ...recorded, outputActivation: 'relu' }, old, rule).outcome, 'dead');
  assert.equal(scoreStoredRun({ ...recorded, outputActivation: 'linear' }, old, rule).outcome, 'converged');
});
