import { test } from 'node:test';
import assert from 'node:assert/strict';
import { converge, convergeSync, sandbox, writeSpec } from '../reliability/harness';

/** One boundary at L = 20, 3 epochs, a budget of the opening design plus one step. */
const SEARCH = ['name: progress', 'seed: 1', 'repeats: 4', 'train: {epochs: 3}', 'search:', '  axis: n_samples', '  for: {seq_len: [20]}', '  range: [10, seq_len+1]', '  target: 0.5', '  budget: 24', ''].join('\n');

test("search's first progress line names the next step as plan's opening design: its values × the seeds per value", { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SEARCH);
  const p = convergeSync(dir, ['plan', 's.yaml', '--json']);
  assert.equal(p.code, 0, p.stderr);
  const opening = (JSON.parse(p.stdout) as { boundaries: { opening: { value: number; seeds: number }[] }[] }).boundaries[0]!.opening;
  assert.ok(opening.every((o) => o.seeds === 4));
  const text = convergeSync(dir, ['plan', 's.yaml']);
  assert.ok(text.stdout.includes(opening.map((o) => `${o.value}×4`).join(', ')), text.stdout);
  // Not on a terminal: progress lines go to stdout.
  const r = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '2']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('seq_len=20: '));
  assert.equal(lines[0], `seq_len=20: 0/24 runs; next: n_samples ${opening.map((o) => o.value).join(', ')} × 4 seeds`);
  // Later steps are described the same way (values, then seeds per value), and the last line says done.
  for (const l of lines.slice(1, -1)) assert.match(l, /; next: n_samples \d+(, \d+)* × \d+ seeds?$|; next: n_samples \d+×\d+(, \d+×\d+)* \(value×seeds\)$/, l);
  assert.match(lines[lines.length - 1]!, /; done \(/);
});
