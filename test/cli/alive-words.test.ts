import { test } from 'node:test';
import assert from 'node:assert/strict';
import { converge, convergeSync, sandbox, writeSpec } from '../reliability/harness';

/** One boundary at L = 20, 3 epochs, the opening design only (5 values × 4 seeds). */
const SEARCH = ['name: words', 'seed: 1', 'repeats: 4', 'train: {epochs: 3}', 'search:', '  axis: n_samples', '  for: {seq_len: [20]}', '  range: [10, seq_len+1]', '  target: 0.5', '  budget: 20', ''].join('\n');

const SMOKE = ['name: tiny', 'seed: 1', 'repeats: 2', 'data: {seq_len: 20, n_samples: 20}', 'train: {epochs: 3}', 'grid: {batch_size: [1, 4]}', ''].join('\n');

test('report names the alive-at-init columns in words and says under the table what alive at init means', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'tiny.yaml', SMOKE);
  const r = await converge(t, dir, ['run', 'tiny.yaml', '--db', 'tiny.db', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  for (const format of ['table', 'md']) {
    const rep = convergeSync(dir, ['report', 'tiny.db', '--format', format]);
    assert.equal(rep.code, 0, rep.stderr);
    assert.match(rep.stdout, /conv\. \(alive at init\).*rate \(alive at init\).*95% CI \(alive at init\)/, format);
    assert.doesNotMatch(rep.stdout, /alive conv\.|alive rate/, format);
    assert.match(rep.stdout, /^\(alive at init\): among the runs whose ReLU output was not dead before the first update; a run dead at init gets zero gradients and never trains/m, format);
  }
  // run prints the same table, legend included.
  assert.match(r.stdout, /^\(alive at init\): among the runs/m);
});

test('search text output says its k/n count runs alive at init when among is alive, and not when among is all', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SEARCH);
  const set: string[] = [];
  const alive = await converge(t, dir, ['search', 's.yaml', '--db', 'alive.db', '--workers', '2', '--quiet', ...set]);
  assert.equal(alive.code, 0, alive.stderr);
  assert.match(alive.stdout, /evidence \(n_samples: k\/n, alive at init\)/);
  assert.match(alive.stdout, /^k\/n: converged of the runs alive at init .*; runs counts every run, dead at init included\.$/m);
  const all = await converge(t, dir, ['search', 's.yaml', '--db', 'all.db', '--workers', '2', '--quiet', ...set, '--set', 'search.among=all']);
  assert.equal(all.code, 0, all.stderr);
  assert.match(all.stdout, /evidence \(n_samples: k\/n\)/);
  assert.doesNotMatch(all.stdout, /alive at init/);
});
