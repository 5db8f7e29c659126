import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { converge, sandbox } from '../reliability/harness';
import { PYTHON } from '../trainer/python';

test('a search whose command always fails stops at the breaker (exit 1, the message), not round after round until its budget', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeFileSync(join(dir, 'train.py'), 'import sys\nprint("no GPU here", file=sys.stderr)\nsys.exit(3)\n');
  writeFileSync(
    join(dir, 's.yaml'),
    [
      'name: broken-search',
      'seed: 1',
      'repeats: 4',
      `trainer: {command: [${JSON.stringify(PYTHON)}, train.py, "{width}"]}`,
      'params:',
      '  width: {type: integer, default: 4, min: 1}',
      'search: {axis: width, range: [1, 64], budget: 200}',
      'converged: {metric: loss, below: 0.1}',
      '',
    ].join('\n'),
  );
  const r = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '1']);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /the first 3 runs all failed, so no more runs were started/);
  assert.match(r.stderr, /no GPU here/);
  const h = new Database(join(dir, 's.db'), { readonly: true });
  try {
    const trained = h.prepare(`SELECT count(*) AS n FROM runs WHERE status <> 'pending'`).get() as { n: number };
    assert.ok(trained.n <= 4, `${trained.n} runs trained`);
  } finally {
    h.close();
  }
});
