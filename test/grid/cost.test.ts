import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeDataset } from '../../src/data/sequences';
import { expandPlan } from '../../src/grid';
import {
  estimatePlanSeconds,
  estimateRunSeconds,
  FUSED_US_PER_UNMASKED_TIMESTEP,
  unmaskedTimesteps,
  type CostParams,
} from '../../src/grid/cost';
import { parseSpec } from '../../src/spec';

const SEED_CELL: CostParams = { engine: 'fused', seq_len: 200, n_samples: 130, test_fraction: 0.1, epochs: 50, batch_size: 1, masking: true };

test('the expected unmasked timesteps of a run match the mean over real datasets of many seeds within 2%', () => {
  const seeds = 400;
  let sum = 0;
  for (let seed = 0; seed < seeds; seed++) {
    const d = makeDataset(SEED_CELL.seq_len, SEED_CELL.n_samples, SEED_CELL.test_fraction, seed);
    for (const k of d.rowsDrawn) sum += SEED_CELL.seq_len - k; // a row with k leading zeros has L-k unmasked steps
  }
  const measured = (sum / seeds) * SEED_CELL.epochs;
  const model = unmaskedTimesteps(SEED_CELL);
  assert.ok(Math.abs(model - measured) / measured < 0.02, `model ${model} vs mean of real datasets ${measured}`);
  assert.equal(unmaskedTimesteps({ ...SEED_CELL, masking: false }), 130 * 200 * 50, 'without masking every step counts');
});

test('a fused run costs its timesteps times the measured µs per timestep', () => {
  assert.equal(estimateRunSeconds(SEED_CELL), (unmaskedTimesteps(SEED_CELL) * FUSED_US_PER_UNMASKED_TIMESTEP) / 1e6);
});

test("the tfjs estimate per epoch is within 15% of the README's `npm run bench` figures at batch 1 and 32", () => {
  const perEpoch = (batch: number) => estimateRunSeconds({ ...SEED_CELL, engine: 'tfjs', epochs: 1, batch_size: batch });
  for (const [batch, measured] of [[1, 27.0], [32, 2.22]] as const) {
    assert.ok(Math.abs(perEpoch(batch) - measured) / measured < 0.15, `batch ${batch}: ${perEpoch(batch)} s vs ${measured} s`);
  }
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
