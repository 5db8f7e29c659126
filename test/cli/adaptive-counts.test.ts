import { test } from 'node:test';
import assert from 'node:assert/strict';
import { convergeSync, sandbox, writeSpec } from '../reliability/harness';

/**
 * Adaptive repeats under unseen_mae, with a cell at N = L+1 = 10 where every row is drawn: its
 * runs lack the rule's metric (except those dead at init, which have an outcome without it).
 */
const SPEC = [
  'name: adaptive-unseen',
  'seed: 0',
  'repeats: {min: 4, max: 12, batch: 4, until: {ci_width: 0.6}}',
  'data: {seq_len: 9, test_fraction: 0.5}',
  'train: {epochs: 2}',
  'grid: {n_samples: [6, 10]}',
  'converged: {metric: unseen_mae, threshold: 0.45}',
  '',
].join('\n');

interface Cell { key: string; runs: number; n: number; ci_low: number; ci_high: number; lacks_metric: number }

test('adaptive repeats decide a cell on the k/n report shows, not calling runs without the rule metric "not converged"', { timeout: 120_000 }, (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SPEC);
  const run = convergeSync(dir, ['run', 's.yaml', '--db', 's.db', '--workers', '1', '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  const r = convergeSync(dir, ['report', 's.db', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const cells = JSON.parse(r.stdout) as Cell[];
  const top = cells.find((c) => c.key === 'n_samples=10')!;
  assert.ok(top.lacks_metric > 0, 'runs at N = L+1 lack unseen_mae');
  for (const c of cells) {
    // A cell stops growing when its interval (the one report prints) is narrow enough, or at max.
    assert.ok(c.ci_high - c.ci_low <= 0.6 || c.runs === 12, `${c.key}: stopped at ${c.runs} runs with n=${c.n}, 95% CI [${c.ci_low}, ${c.ci_high}]`);
  }
});
