import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareGroups, formatComparison, matchesFilter, parseFilter } from '../../src/report';
import type { RunRow } from '../../src/report';
import { ConvergeError } from '../../src/errors';

let nextId = 1;
function runs(k: number, n: number, params: RunRow['params'] = {}): RunRow[] {
  return Array.from({ length: n }, (_, i) => {
    const id = nextId++;
    return {
      id, runKey: `k${id}`, seed: i, params, status: 'done', outcome: i < k ? 'converged' : 'not_converged',
      finalValMae: 0.1, finalLoss: 0.1, convergedEpoch: null, epochsRun: 50, seconds: 1,
    } satisfies RunRow;
  });
}

test('3/10 against 9/10 converged gives a difference of 0.6 and Fisher p ≈ 0.0198', () => {
  const r = compareGroups({ label: 'n_samples=80', runs: runs(3, 10) }, { label: 'n_samples=130', runs: runs(9, 10) });
  assert.equal(r.a.k, 3);
  assert.equal(r.a.n, 10);
  assert.equal(r.b.k, 9);
  assert.ok(Math.abs(r.difference! - 0.6) < 1e-12);
  assert.ok(Math.abs(r.p_value! - 0.0198) < 1e-4, `p = ${r.p_value}`);
  assert.equal(r.warning, null);
  const text = formatComparison(r, false);
  assert.match(text, /A {2}n_samples=80: 3\/10 converged, rate 0\.30, 95% CI \[0\.11, 0\.60\]/);
  assert.match(text, /difference \(B − A\): \+0\.60, Fisher exact two-sided p = 0\.0198/);
  assert.match(text, /p < 0\.05/);
  const json = JSON.parse(formatComparison(r, true)) as { p_value: number; a: { label: string } };
  assert.equal(json.a.label, 'n_samples=80');
  assert.equal(json.p_value, r.p_value);
});

test('fewer than 5 finished seeds in a group gives a "too few seeds" warning', () => {
  const r = compareGroups({ label: 'a', runs: runs(0, 3) }, { label: 'b', runs: runs(3, 3) });
  assert.match(r.warning ?? '', /^too few seeds to tell: "a" has n=3, "b" has n=3/);
  assert.match(formatComparison(r, false), /warning: too few seeds/);
});

test('a group without finished runs has no p-value and says there is nothing to compare', () => {
  const pending = runs(0, 4).map((r) => ({ ...r, status: 'pending' as const, outcome: null }));
  const r = compareGroups({ label: 'a', runs: pending }, { label: 'b', runs: runs(3, 10) });
  assert.equal(r.p_value, null);
  assert.equal(r.difference, null);
  assert.equal(r.a.rate, null);
  assert.match(r.warning ?? '', /nothing to compare: "a" has no finished runs/);
  assert.match(r.warning ?? '', /"a" has 4 unfinished runs/);
});

test('parseFilter reads single clauses, "and"-joined clauses and every operator', () => {
  assert.deepEqual(parseFilter('n_samples=80'), [{ key: 'n_samples', op: '=', value: 80 }]);
  assert.deepEqual(parseFilter('seq_len=200 and batch_size=1'), [
    { key: 'seq_len', op: '=', value: 200 },
    { key: 'batch_size', op: '=', value: 1 },
  ]);
  assert.deepEqual(parseFilter('kernel_initializer=orthogonal'), [{ key: 'kernel_initializer', op: '=', value: 'orthogonal' }]);
  assert.deepEqual(
    parseFilter(' a != 1 AND b<2 and c <= -0.5 and d>1e-3 and e >= .5 '),
    [
      { key: 'a', op: '!=', value: 1 }, { key: 'b', op: '<', value: 2 }, { key: 'c', op: '<=', value: -0.5 },
      { key: 'd', op: '>', value: 0.001 }, { key: 'e', op: '>=', value: 0.5 },
    ],
  );
});

test('parseFilter makes true/false booleans and keeps quoted values as strings', () => {
  assert.deepEqual(parseFilter('unit_forget_bias=true'), [{ key: 'unit_forget_bias', op: '=', value: true }]);
  assert.deepEqual(parseFilter(`engine="tfjs cpu" and tag='80' and q="a \\"b\\""`), [
    { key: 'engine', op: '=', value: 'tfjs cpu' },
    { key: 'tag', op: '=', value: '80' },
    { key: 'q', op: '=', value: 'a "b"' },
  ]);
});

test('parseFilter rejects malformed expressions with the position of the problem', () => {
  const cases: [string, RegExp][] = [
    ['', /position 1: the filter is empty/],
    ['seq_len', /position 8: expected an operator/],
    ['seq_len=', /position 9: expected a value/],
    ['=5', /position 1: expected a parameter name/],
    ['a=1 b=2', /position 5: expected "and" or the end/],
    ['a=1 and', /position 8: expected a clause after "and"/],
    ['a="x', /position 3: unterminated "-quoted string/],
    ['a<true', /position 3: operator < does not apply to a boolean/],
    ['seq_len=>200', /position 9: expected a value/],
    ["a=1; drop table runs", /position 4: expected "and" or the end/],
  ];
  for (const [expr, message] of cases) {
    assert.throws(
      () => parseFilter(expr),
      (e: unknown) => e instanceof ConvergeError && e.code === 'filter.syntax' && e.exitCode === 2 && message.test(e.message),
      `for ${JSON.stringify(expr)}`,
    );
  }
});

test('matchesFilter applies every clause and compares numbers numerically', () => {
  const params = { seq_len: 200, n_samples: 80, batch_size: 1, kernel_initializer: 'orthogonal', unit_forget_bias: true };
  assert.equal(matchesFilter(params, parseFilter('seq_len=200 and batch_size=1')), true);
  assert.equal(matchesFilter(params, parseFilter('seq_len=200 and batch_size=32')), false);
  assert.equal(matchesFilter(params, parseFilter('n_samples<100 and n_samples>=80')), true);
  assert.equal(matchesFilter(params, parseFilter('seq_len>1000')), false);
  assert.equal(matchesFilter(params, parseFilter('kernel_initializer!=glorot_uniform')), true);
  assert.equal(matchesFilter(params, parseFilter('unit_forget_bias=true')), true);
  assert.equal(matchesFilter(params, parseFilter('n_samples="80"')), false, 'the string "80" is not the number 80');
  assert.equal(matchesFilter(params, parseFilter('units=10')), false, 'a parameter the run lacks never matches');
  assert.equal(matchesFilter(params, parseFilter('kernel_initializer<z')), true, 'strings order lexicographically');
});
