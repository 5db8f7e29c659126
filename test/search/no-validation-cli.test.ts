import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { converge, convergeSync, oneLine, readRuns, sandbox, withDb, writeSpec } from '../reliability/harness';

/** A tiny search without a validation split: L = 9, N from 2, 10 epochs, 24 runs at most. */
const SEARCH = [
  'name: noval-search',
  'seed: 1',
  'repeats: 4',
  'data: {seq_len: 9, test_fraction: 0}',
  'train: {epochs: 10}',
  'search:',
  '  axis: n_samples',
  '  range: [2, seq_len+1]',
  '  among: all',
  '  budget: 24',
  '',
].join('\n');

interface EpochNulls {
  epochs: number;
  val_null: number;
  pop_null: number;
}

function epochNulls(db: string): EpochNulls {
  return withDb(db, (d) =>
    d.prepare('SELECT count(*) AS epochs, sum(val_loss IS NULL AND val_mae IS NULL) AS val_null, sum(pop_mae IS NULL) AS pop_null FROM epochs').get() as EpochNulls,
  );
}

test('a converge search with test_fraction 0 over a range from 2 at L=9 runs, trains at N=2, and stores NULL validation metrics', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SEARCH);
  const r = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const [b] = JSON.parse(r.stdout) as { runs: number; probes: { value: number; n: number }[] }[];
  assert.ok(b && b.runs > 0 && b.runs <= 24, r.stdout);
  assert.ok(b.probes.some((p) => p.value === 2 && p.n > 0), `a probe at N=2: ${JSON.stringify(b.probes)}`);
  const runs = readRuns(join(dir, 's.db'));
  assert.equal(runs.length, b.runs);
  assert.ok(runs.every((x) => x.status === 'done' && x.outcome !== 'diverged' && x.recorded === 10), JSON.stringify(runs.map((x) => x.outcome)));
  const e = epochNulls(join(dir, 's.db'));
  assert.equal(e.epochs, b.runs * 10);
  assert.equal(e.val_null, e.epochs, 'val_loss and val_mae are NULL at every epoch');
  assert.equal(e.pop_null, 0, 'pop_mae, the rule, is measured at every epoch');
});

test('converge run with test_fraction 0 at n_samples 2 stores NULL val metrics per epoch and per run, not 0 and not diverged', { timeout: 60_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'r.yaml', ['name: noval-run', 'seed: 1', 'repeats: 3', 'data: {seq_len: 9, test_fraction: 0}', 'train: {epochs: 4}', 'grid: {n_samples: [2, 10]}', ''].join('\n'));
  const r = await converge(t, dir, ['run', 'r.yaml', '--db', 'r.db', '--workers', '1', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const db = join(dir, 'r.db');
  const finals = withDb(db, (d) => d.prepare('SELECT n_samples, outcome, final_val_loss, final_val_mae, final_pop_mae FROM runs ORDER BY id').all()) as {
    n_samples: number; outcome: string; final_val_loss: number | null; final_val_mae: number | null; final_pop_mae: number | null;
  }[];
  assert.equal(finals.length, 6);
  assert.ok(finals.some((f) => f.n_samples === 2));
  for (const f of finals) {
    assert.equal(f.final_val_loss, null);
    assert.equal(f.final_val_mae, null);
    assert.equal(typeof f.final_pop_mae, 'number');
    assert.notEqual(f.outcome, 'diverged');
  }
  const e = epochNulls(db);
  assert.equal(e.epochs, 6 * 4);
  assert.equal(e.val_null, e.epochs);
});

for (const command of ['run', 'search', 'plan']) {
  test(`converge ${command} with a val_mae rule and test_fraction 0 is refused in one line (file:line, exit 2) and writes nothing`, (t) => {
    const dir = sandbox(t);
    const body = command === 'search' ? ['search:', '  axis: n_samples', '  range: [2, seq_len+1]'] : ['grid: {n_samples: [2, 10]}'];
    writeSpec(dir, 'v.yaml', ['name: noval-val', 'data: {seq_len: 9, test_fraction: 0}', 'converged: {metric: val_mae, threshold: 0.05}', ...body, ''].join('\n'));
    const r = convergeSync(dir, [command, 'v.yaml', ...(command === 'plan' ? [] : ['--db', 'v.db'])]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(oneLine(r.stderr), /^converge: v\.yaml:2: data\.test_fraction: 0 leaves no validation rows, but the rule's metric val_mae \(converged\.metric, line 3\) .* \[spec\.noValidationRows\]$/);
    assert.equal(r.stdout, '');
    assert.deepEqual(readdirSync(dir), ['v.yaml']);
  });
}
