import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConvergeError } from '../../src/errors';
import { makeDataset } from '../../src/data/sequences';

describe('a dataset without a validation split', () => {
  it('test_fraction 0 puts all N drawn rows in training, down to N = 2, the same rows as with a split', () => {
    for (const n of [2, 3, 10]) {
      const d = makeDataset(9, n, 0, 5);
      assert.equal(d.nTrain, n);
      assert.equal(d.nTest, 0);
      assert.equal(d.testX.length, 0);
      assert.equal(d.trainX.length, n * 9);
      // The seed draws the same rows whatever the split.
      assert.deepEqual(Array.from(d.rowsDrawn), Array.from(makeDataset(9, n, 0.5, 5).rowsDrawn));
    }
  });

  it('a test_fraction above 0 that leaves no validation row is still refused, pointing at test_fraction 0', () => {
    assert.throws(
      () => makeDataset(9, 5, 0.1, 5),
      (e: ConvergeError) => e.code === 'data.emptySplit' && /leaves no validation row \(test_fraction: 0 trains on every row/.test(e.message),
    );
  });
});
