import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeDataset, testCount } from '../../src/data/sequences';

describe('the seed dataset generator', () => {
  it('every drawn row is a row of triu(ones(L+1, L)): k zeros then L-k ones, and y is its mean', () => {
    const d = makeDataset(30, 25, 0.1, 7);
    const check = (x: Float32Array, y: Float32Array, n: number) => {
      for (let i = 0; i < n; i++) {
        const row = x.subarray(i * 30, (i + 1) * 30);
        const k = row.findIndex((v) => v === 1);
        const zeros = k === -1 ? 30 : k;
        for (let t = 0; t < 30; t++) assert.equal(row[t], t < zeros ? 0 : 1);
        const mean = row.reduce((s, v) => s + v, 0) / 30;
        assert.ok(Math.abs(y[i]! - mean) < 1e-7);
      }
    };
    check(d.trainX, d.trainY, d.nTrain);
    check(d.testX, d.testY, d.nTest);
  });

  it('the test split is the last floor(0.1·N) rows, as the answer\'s code', () => {
    assert.equal(testCount(130, 0.1), 13);
    assert.equal(testCount(50, 0.1), 5);
    assert.equal(testCount(80, 0.1), 8);
    const d = makeDataset(200, 130, 0.1, 1);
    assert.equal(d.nTest, 13);
    assert.equal(d.nTrain, 117);
  });

  it('drawn rows are distinct and the unused rows complete the population', () => {
    const d = makeDataset(40, 41, 0.1, 3);
    assert.equal(new Set(d.rowsDrawn).size, 41);
    const d2 = makeDataset(40, 20, 0.1, 3);
    const all = new Set([...d2.rowsDrawn, ...d2.rowsUnused]);
    assert.equal(all.size, 41);
  });

  it('the same seed gives the same data and another seed another shuffle', () => {
    const a = makeDataset(50, 30, 0.1, 11);
    const b = makeDataset(50, 30, 0.1, 11);
    const c = makeDataset(50, 30, 0.1, 12);
    assert.deepEqual(a.rowsDrawn, b.rowsDrawn);
    assert.notDeepEqual(a.rowsDrawn, c.rowsDrawn);
  });

  it('n_samples above seq_len + 1 is refused', () => {
    assert.throws(() => makeDataset(10, 12, 0.1, 1), /only seq_len\+1 distinct rows/);
  });
});
