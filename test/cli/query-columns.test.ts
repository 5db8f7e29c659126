import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { runCli } from '../helpers';
import { buildDb } from './synthetic-db';

/** 4 seeds at n_samples 80 and 130; seeds 1–2 converge. */
function syntheticDb(t: TestContext): string {
  const { dir, file } = buildDb('name: cols\nseed: 1\nrepeats: 4\ndata: {seq_len: 200}\ngrid:\n  n_samples: [80, 130]\n', (_p, seed) => seed <= 2);
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return file;
}

test('query --columns prints only those columns, in that order, in table, csv and json', (t) => {
  const file = syntheticDb(t);
  const table = runCli(['query', file, '--where', 'n_samples=130', '--columns', 'outcome,seed,n_samples']);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trim().split('\n');
  assert.deepEqual(lines[0]!.split(/\s+/), ['outcome', 'seed', 'n_samples']);
  assert.equal(lines.length, 2 + 4, 'a header, a rule and the 4 runs at n_samples=130');
  assert.match(lines[2]!, /^converged +1 +130$/);
  const csv = runCli(['query', file, '--columns', 'seed,outcome', '--format', 'csv']);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(csv.stdout.split('\n')[0], 'seed,outcome');
  const json = runCli(['query', file, '--where', 'seed=3', '--columns', 'n_samples,outcome', '--format', 'json']);
  assert.deepEqual(JSON.parse(json.stdout), [{ n_samples: 80, outcome: 'not_converged' }, { n_samples: 130, outcome: 'not_converged' }]);
  // --sql rows too.
  const sql = runCli(['query', file, '--sql', 'select seed, n_samples, outcome from runs where seed = 1', '--columns', 'n_samples', '--format', 'csv']);
  assert.equal(sql.stdout.trim(), 'n_samples\n80\n130');
});

test('query --columns with an unknown column is one line with a "did you mean", exit 2', (t) => {
  const file = syntheticDb(t);
  const r = runCli(['query', file, '--columns', 'seed,outcom']);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /--columns outcom: no such column \(did you mean outcome\?\); the columns: id, .*seed/);
  const empty = runCli(['query', file, '--columns', 'seed,,outcome']);
  assert.equal(empty.code, 2);
  assert.match(empty.stderr, /--columns must be a comma-separated list of column names, got "seed,,outcome"/);
});
