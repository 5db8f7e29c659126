import assert from 'node:assert/strict';
import { test } from 'node:test';
import { converge, sandbox, writeSpec } from '../reliability/harness';

test('a repeated --where adds its conditions (and), as one --where joined by and does, in query and compare', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', 'name: where2\nseed: 1\nrepeats: 2\ndata: {seq_len: 24}\ntrain: {epochs: 2}\ngrid:\n  n_samples: [10, 20]\n  batch_size: [1, 2]\n');
  const run = await converge(t, dir, ['run', 's.yaml', '--db', 's.db', '--quiet']);
  assert.equal(run.code, 0, run.stderr);
  const ids = async (args: string[]) => {
    const r = await converge(t, dir, ['query', 's.db', ...args, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { id: number }[]).map((x) => x.id);
  };
  const joined = await ids(['--where', 'n_samples=10 and batch_size=2']);
  assert.equal(joined.length, 2);
  assert.deepEqual(await ids(['--where', 'n_samples=10', '--where', 'batch_size=2']), joined);
  const a = await converge(t, dir, ['compare', 's.db', '--a', 'batch_size=1', '--b', 'batch_size=2', '--where', 'n_samples=10', '--json']);
  const b = await converge(t, dir, ['compare', 's.db', '--a', 'batch_size=1', '--b', 'batch_size=2', '--where', 'n_samples=10 and seq_len=24', '--where', 'n_samples=10', '--json']);
  assert.equal(a.code, 0, a.stderr);
  assert.equal((JSON.parse(a.stdout) as { pairs: number }).pairs, 2);
  assert.equal((JSON.parse(b.stdout) as { pairs: number }).pairs, 2);
});
