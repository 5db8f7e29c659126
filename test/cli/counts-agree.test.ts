import { test } from 'node:test';
import assert from 'node:assert/strict';
import { converge, convergeSync, sandbox, writeSpec } from '../reliability/harness';

/**
 * A tiny search (L = 9, 3 epochs) whose rule is unseen_mae over a range that ends at N = L + 1,
 * where every row is drawn and no run has an unseen row: those runs lack the rule's metric.
 * test_fraction 0.5 lets N start at 2 (one validation row), so the range has several probes.
 */
const SEARCH = [
  'name: unseen-search',
  'seed: 1',
  'repeats: 3',
  'data: {seq_len: 9, test_fraction: 0.5}',
  'train: {epochs: 3}',
  'converged: {metric: unseen_mae, threshold: 0.45}',
  'search:',
  '  axis: n_samples',
  '  range: [2, seq_len+1]',
  '  among: all',
  '  budget: 21',
  '',
].join('\n');

interface Probe { value: number; k: number; n: number }
interface Cell { n: number; converged: number; alive: number; converged_alive: number; lacks_metric: number }

function reportCell(dir: string, n: number): Cell {
  const r = convergeSync(dir, ['report', 's.db', '--where', `seq_len=9 and n_samples=${n}`, '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const cells = JSON.parse(r.stdout) as Cell[];
  assert.equal(cells.length, 1, r.stdout);
  return cells[0]!;
}

test('a search with converged: {metric: unseen_mae} counts the same runs in n as report, also at N = L+1 where no run has unseen rows', { timeout: 180_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SEARCH);
  const all = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '1', '--json']);
  assert.equal(all.code, 0, all.stderr);
  const probesAll = (JSON.parse(all.stdout) as { probes: Probe[] }[])[0]!.probes;
  const top = probesAll.find((p) => p.value === 10);
  assert.ok(top, `the search probed N = L+1: ${JSON.stringify(probesAll)}`);
  assert.ok(reportCell(dir, 10).lacks_metric > 0, 'runs at N = L+1 lack unseen_mae');
  for (const p of probesAll) {
    const c = reportCell(dir, p.value);
    assert.deepEqual({ value: p.value, k: p.k, n: p.n }, { value: p.value, k: c.converged, n: c.n }, 'among: all is the report\'s k/n');
  }

  // The same database searched among runs alive at initialisation: the report's alive columns.
  const alive = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '1', '--json', '--set', 'search.among=alive']);
  assert.equal(alive.code, 0, alive.stderr);
  const probesAlive = (JSON.parse(alive.stdout) as { probes: Probe[] }[])[0]!.probes;
  assert.ok(probesAlive.some((p) => p.value === 10));
  for (const p of probesAlive) {
    const c = reportCell(dir, p.value);
    assert.deepEqual({ value: p.value, k: p.k, n: p.n }, { value: p.value, k: c.converged_alive, n: c.alive }, 'among: alive is the report\'s alive k/n');
  }
});
