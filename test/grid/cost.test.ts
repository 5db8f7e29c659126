import assert from 'node:assert/strict';
import { describe, it, test } from 'node:test';
import { expandPlan } from '../../src/grid';
import { estimatePlanSeconds, estimateRunSeconds, expectedLongest, fusedEpochSteps, runCost, type CostParams } from '../../src/grid/cost';
import { parseSpec } from '../../src/spec';

/** Mean of max over every b-subset of {0..L}, by enumeration: an independent check of the formula. */
function bruteLongest(L: number, b: number): number {
  let sum = 0;
  let count = 0;
  const pick = (start: number, left: number, max: number): void => {
    if (left === 0) {
      sum += max;
      count++;
      return;
    }
    for (let v = start; v <= L; v++) pick(v + 1, left - 1, Math.max(max, v));
  };
  pick(0, b, -Infinity);
  return sum / count;
}

const seedCell: CostParams = { engine: 'fused', seq_len: 200, n_samples: 130, test_fraction: 0.1, epochs: 50, batch_size: 1, masking: true };

describe('the cost model', () => {
  it('the expected longest of b rows drawn without replacement equals enumeration of every subset within 1e-12', () => {
    for (const L of [1, 5, 12]) {
      for (let b = 1; b <= Math.min(L + 1, 6); b++) {
        const want = bruteLongest(L, b);
        assert.ok(Math.abs(expectedLongest(L, b) - want) <= 1e-12 * want + 1e-12, `L=${L}, b=${b}: ${expectedLongest(L, b)} vs ${want}`);
      }
    }
    assert.equal(expectedLongest(200, 0), 0);
  });

  it('with masking on, a shared batch costs its longest row: batch 32 trains about 1/16 of batch 1\'s steps on the seed cell', () => {
    const b1 = fusedEpochSteps(seedCell).train;
    const b32 = fusedEpochSteps({ ...seedCell, batch_size: 32 }).train;
    assert.equal(b1, 117 * 100); // 117 train rows of L/2 = 100 unmasked steps on average
    // 3 full batches of E[max of 32] = 32·202/33 − 1 and one of 21 rows.
    assert.ok(Math.abs(b32 - (3 * ((32 * 202) / 33 - 1) + ((21 * 202) / 22 - 1))) < 1e-9);
    assert.ok(b1 / b32 > 14 && b1 / b32 < 16);
    // The per-row path pays every row.
    assert.equal(fusedEpochSteps({ ...seedCell, batch_size: 32 }, 'per-row').train, b1);
  });

  it('with masking off every row runs all L steps, and so does each population row', () => {
    const s = fusedEpochSteps({ ...seedCell, masking: false });
    assert.equal(s.train, 117 * 200);
    assert.equal(s.forward, 13 * 200 + 201 * 200);
  });

  it('orders the answer-cases cells by work: L=2000 N=1200 batch 1 first, tfjs above fused, and grows with epochs', () => {
    const big = runCost({ ...seedCell, seq_len: 2000, n_samples: 1200 });
    const asker = runCost({ ...seedCell, seq_len: 2000, n_samples: 50 });
    const seed = runCost(seedCell);
    assert.ok(big > asker && asker > seed, `${big} > ${asker} > ${seed}`);
    assert.ok(runCost({ ...seedCell, seq_len: 2000, n_samples: 1200, batch_size: 32 }) < big);
    assert.ok(runCost({ ...seedCell, engine: 'tfjs' }) > seed);
    assert.equal(runCost({ ...seedCell, epochs: 100 }), 2 * seed);
  });
});

test('a plan costs the sum of its runs, spread over the workers but never over more workers than runs', () => {
  const spec = parseSpec('name: c\nrepeats: 3\ndata: {seq_len: 50}\ntrain: {epochs: 4}\ngrid:\n  n_samples: [20, 40]\n', 'c.yaml');
  const plan = expandPlan(spec);
  const sum = plan.runs.reduce((s, r) => s + estimateRunSeconds(r.params), 0);
  assert.equal(plan.runs.length, 6);
  assert.ok(Math.abs(estimatePlanSeconds(plan, 1) - sum) < 1e-12);
  assert.ok(Math.abs(estimatePlanSeconds(plan, 2) - sum / 2) < 1e-12);
  assert.ok(Math.abs(estimatePlanSeconds(plan, 64) - sum / 6) < 1e-12);
});
