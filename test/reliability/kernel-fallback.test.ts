import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { converge, convergeSync, oneLine, sandbox, withDb, writeSpec } from './harness';

const SPEC = ['name: k', 'seed: 1', 'repeats: 3', 'data:', '  seq_len: 30', '  n_samples: 31', 'train:', '  epochs: 3', 'grid:', '  batch_size: [1, 8]', ''].join('\n');

function backends(db: string): Array<{ status: string; backend: string | null }> {
  return withDb(db, (d) => d.prepare('SELECT status, backend FROM runs ORDER BY id').all() as Array<{ status: string; backend: string | null }>);
}

test('every run trains on the WebAssembly kernel by default and records fused-wasm-simd', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'k.yaml', SPEC);
  const r = await converge(t, dir, ['run', 'k.yaml', '--db', 'k.db', '--workers', '2', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /WebAssembly kernel could not be loaded/);
  const runs = backends(join(dir, 'k.db'));
  assert.equal(runs.length, 6);
  for (const x of runs) assert.deepEqual(x, { status: 'done', backend: 'fused-wasm-simd' });
});

test('workers that cannot instantiate the WebAssembly kernel train on JS, say so once, and record fused-js per run', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'k.yaml', SPEC);
  // CONVERGE_FAULT=wasm hands each worker's compiler a corrupted module: a real CompileError.
  const r = await converge(t, dir, ['run', 'k.yaml', '--db', 'k.db', '--workers', '2', '--quiet'], { CONVERGE_FAULT: 'wasm' });
  assert.equal(r.code, 0, r.stderr);
  const notes = r.stderr.split('\n').filter((l) => l.includes('WebAssembly kernel could not be loaded'));
  assert.equal(notes.length, 1, r.stderr);
  assert.match(notes[0]!, /^note: the WebAssembly kernel could not be loaded \(CompileError: .+\); training on the plain-JS kernel \(fused-js\)$/);
  const runs = backends(join(dir, 'k.db'));
  assert.equal(runs.length, 6);
  for (const x of runs) assert.deepEqual(x, { status: 'done', backend: 'fused-js' });
});

test('CONVERGE_KERNEL=js trains on the JS kernel silently; an unknown value is refused before anything is written', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'k.yaml', SPEC);
  const bad = convergeSync(dir, ['run', 'k.yaml', '--db', 'bad.db'], { CONVERGE_KERNEL: 'gpu' });
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(oneLine(bad.stderr), /^converge: CONVERGE_KERNEL: expected one of wasm, wasm-per-row, js, js-per-row, got 'gpu' \[train\.unknownKernel\]$/);
  assert.equal(existsSync(join(dir, 'bad.db')), false);
  const r = await converge(t, dir, ['run', 'k.yaml', '--db', 'k.db', '--workers', '1', '--quiet'], { CONVERGE_KERNEL: 'js' });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr.trim(), '');
  for (const x of backends(join(dir, 'k.db'))) assert.deepEqual(x, { status: 'done', backend: 'fused-js' });
});
