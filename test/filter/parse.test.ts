import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConvergeError } from '../../src/errors';
import { filterNames, parseFilter } from '../../src/filter';

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

test('filterNames lists each name once, in order of first use', () => {
  assert.deepEqual(filterNames(parseFilter('seed<=5 and n_samples=80 and seed>1')), ['seed', 'n_samples']);
});
