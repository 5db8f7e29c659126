import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateRunSeconds, type CostParams } from '../../src/grid/cost';
import { PACE_WINDOW_SECONDS, sweepEtaSeconds } from '../../src/sweep/eta';

const P: CostParams = { engine: 'fused', seq_len: 100, n_samples: 50, test_fraction: 0.1, epochs: 10, batch_size: 1, masking: true };
const NOW = 1_800_000_000;

test('a complete sweep has no time left', () => {
  assert.equal(sweepEtaSeconds({ remaining: 0, recentFinishes: [], unfinished: [] }, NOW, 2), 0);
});

test("the ETA is the runs left over the whole sweep's pace since the first recent finish", () => {
  // 3 runs finished after the first one, in the 100 s since it: 0.03 runs/s; 12 left → 400 s.
  const eta = sweepEtaSeconds({ remaining: 12, recentFinishes: [NOW - 100, NOW - 60, NOW - 30, NOW - 5], unfinished: [{ params: P, count: 12 }] }, NOW, 2);
  assert.ok(Math.abs(eta - 400) < 1e-9, String(eta));
});

test('two runs finishing together do not make the sweep look infinitely fast, and a stall makes the ETA grow', () => {
  const finishes = [NOW - 10, NOW - 10];
  const a = sweepEtaSeconds({ remaining: 5, recentFinishes: finishes, unfinished: [] }, NOW, 1);
  const b = sweepEtaSeconds({ remaining: 5, recentFinishes: finishes, unfinished: [] }, NOW + 50, 1);
  assert.ok(Number.isFinite(a) && a === 50, String(a));
  assert.ok(b > a);
});

test('before two runs finished within the window, the ETA comes from the cost model over the parallelism', () => {
  const unfinished = [{ params: P, count: 4 }, { params: { ...P, seq_len: 200 }, count: 2 }];
  const model = 4 * estimateRunSeconds(P) + 2 * estimateRunSeconds({ ...P, seq_len: 200 });
  const stale = [NOW - PACE_WINDOW_SECONDS - 100, NOW - PACE_WINDOW_SECONDS - 50];
  for (const recentFinishes of [[], [NOW - 5], stale]) {
    assert.ok(Math.abs(sweepEtaSeconds({ remaining: 6, recentFinishes, unfinished }, NOW, 2) - model / 2) < 1e-9);
  }
});
