import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { converge, sandbox, withDb, writeSpec } from './harness';

const backendsOf = (file: string) =>
  withDb(file, (d) => d.prepare(`SELECT seed, status, outcome, backend FROM runs ORDER BY seed`).all() as { seed: number; status: string; outcome: string; backend: string | null }[]);

test('a run stopped by --timeout while it trains records the backend it trained on', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  // One run far longer than the 1 s timeout: it is cut off mid-training, after its worker chose the kernel.
  writeSpec(dir, 'long.yaml', ['name: long', 'seed: 1', 'repeats: 1', 'data: {seq_len: 200, n_samples: 130}', 'train: {epochs: 100000}', ''].join('\n'));
  const r = await converge(t, dir, ['run', 'long.yaml', '--db', 'long.db', '--timeout', '1', '--quiet']);
  assert.equal(r.code, 1, r.stderr);
  const [run] = backendsOf(join(dir, 'long.db'));
  assert.equal(run?.outcome, 'timed_out');
  assert.match(run?.backend ?? 'NULL', /^fused-(wasm-simd|js)$/);
});

test('a run whose worker died or threw before it chose a kernel records its engine as the backend', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'died.yaml', ['name: died', 'seed: 1', 'repeats: 2', 'data: {seq_len: 20, n_samples: 20}', 'train: {epochs: 5}', ''].join('\n'));
  // exit:1 ends the thread of the seed-1 run before it trains; throw:1 fails it in the worker (a result, no thread lost).
  for (const fault of ['exit:1', 'throw:1']) {
    const db = `${fault.replace(':', '-')}.db`;
    const r = await converge(t, dir, ['run', 'died.yaml', '--db', db, '--workers', '1', '--quiet'], { CONVERGE_FAULT: fault });
    assert.equal(r.code, 1, r.stderr);
    const runs = backendsOf(join(dir, db));
    assert.deepEqual(runs.map((x) => [x.seed, x.status, x.backend?.startsWith('fused-') ? 'fused-*' : x.backend]), [
      [1, 'failed', 'fused'],
      [2, 'done', 'fused-*'],
    ], fault);
  }
});
