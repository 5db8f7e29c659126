import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { batchesOf, epochOrder, initMatrix, initWeights } from '../../src/train/init';
import { createRng } from '../../src/util/rng';
import type { ModelConfig } from '../../src/train/contract';
import { seedRequest } from '../../src/sweep/request';

const model: ModelConfig = seedRequest({ seqLen: 10, nSamples: 11, seed: 0 }).model;

describe('initial weights and batch order', () => {
  it('an orthogonal recurrent kernel [u, 4u] has orthonormal rows (gain 1)', () => {
    const u = 10;
    const w = initMatrix('orthogonal', u, 4 * u, 1, createRng(5));
    for (let i = 0; i < u; i++) {
      for (let j = 0; j < u; j++) {
        let dot = 0;
        for (let c = 0; c < 4 * u; c++) dot += w[i * 4 * u + c]! * w[j * 4 * u + c]!;
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-5, `row ${i}·row ${j} = ${dot}`);
      }
    }
  });

  it('an orthogonal [1, 40] kernel with gain 0.01 has norm 0.01', () => {
    const w = initMatrix('orthogonal', 1, 40, 0.01, createRng(5));
    const norm = Math.sqrt(w.reduce((s, v) => s + v * v, 0));
    assert.ok(Math.abs(norm - 0.01) < 1e-7);
  });

  it('glorot_uniform stays within its limit', () => {
    const w = initMatrix('glorot_uniform', 10, 1, 1, createRng(2));
    const lim = Math.sqrt(6 / 11);
    assert.ok(w.every((v) => Math.abs(v) <= lim));
    assert.ok(w.some((v) => v !== 0));
  });

  it('the forget-gate bias starts at 1 with unit_forget_bias and 0 without', () => {
    const a = initWeights(model, 1, 1);
    assert.deepEqual([...a.bias.subarray(10, 20)], new Array(10).fill(1));
    assert.deepEqual([...a.bias.subarray(0, 10)], new Array(10).fill(0));
    const b = initWeights({ ...model, unitForgetBias: false }, 1, 1);
    assert.ok(b.bias.every((v) => v === 0));
  });

  it('weights are a pure function of the seed', () => {
    assert.deepEqual(initWeights(model, 1, 9), initWeights(model, 1, 9));
    assert.notDeepEqual(initWeights(model, 1, 9).kernel, initWeights(model, 1, 10).kernel);
  });

  it('each epoch visits every train row once, in a seeded order that differs between epochs', () => {
    const e1 = epochOrder(117, 1, 4, true);
    const e2 = epochOrder(117, 2, 4, true);
    assert.deepEqual([...e1].sort((a, b) => a - b), Array.from({ length: 117 }, (_, i) => i));
    assert.notDeepEqual(e1, e2);
    assert.deepEqual(e1, epochOrder(117, 1, 4, true));
    assert.deepEqual([...epochOrder(5, 1, 4, false)], [0, 1, 2, 3, 4]);
  });

  it('batches are consecutive slices with a short last one, as Keras', () => {
    const b = batchesOf(epochOrder(117, 1, 4, true), 32);
    assert.deepEqual(b.map((x) => x.length), [32, 32, 32, 21]);
  });
});
