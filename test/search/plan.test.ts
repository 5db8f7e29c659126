import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluateExpression, expandSearch, searchRun } from '../../src/search';
import { parseSpec } from '../../src/spec';
import { canonicalJson, runKeyOf } from '../../src/grid';
import { ConvergeError } from '../../src/errors';

const vars = (name: string) => ({ seq_len: 200, n_samples: 80 })[name];

test('range expressions: integers, parameter names, + - * / and parentheses, with the usual precedence', () => {
  assert.equal(evaluateExpression('seq_len+1', vars), 201);
  assert.equal(evaluateExpression('(seq_len + 1) / 3', vars), 67);
  assert.equal(evaluateExpression('2 * seq_len - 1', vars), 399);
  assert.equal(evaluateExpression('seq_len - 2 * 10', vars), 180);
  assert.equal(evaluateExpression('-1 + 3', vars), 2);
  assert.throws(() => evaluateExpression('seq_len +', vars), /ends too early/);
  assert.throws(() => evaluateExpression('units + 1', vars), /"units" is not a numeric parameter/);
  assert.throws(() => evaluateExpression('seq_len ^ 2', vars), /cannot read/);
});

const SPEC = (extra: string) =>
  ['name: s', 'seed: 5', 'repeats: 4', 'grid: {batch_size: [1, 32]}', 'search:', '  axis: n_samples', '  for: {seq_len: [50, 200]}', '  range: [10, seq_len+1]', extra, ''].join('\n');

test('one boundary per for × grid combination, each with its own evaluated range and the spec settings', () => {
  const plan = expandSearch(parseSpec(SPEC('  budget: 100'), 's.yaml'));
  assert.equal(plan.axis, 'n_samples');
  assert.deepEqual(plan.axes, ['batch_size', 'n_samples', 'seq_len']);
  assert.deepEqual(plan.boundaries.map((b) => b.fixed), [
    { batch_size: 1, seq_len: 50 },
    { batch_size: 1, seq_len: 200 },
    { batch_size: 32, seq_len: 50 },
    { batch_size: 32, seq_len: 200 },
  ]);
  assert.deepEqual(plan.boundaries.map((b) => [b.settings.lo, b.settings.hi]), [[10, 51], [10, 201], [10, 51], [10, 201]]);
  const s = plan.boundaries[0]!.settings;
  assert.deepEqual({ target: s.target, among: s.among, precision: s.precision, budget: s.budget, batch: s.batch }, { target: 0.5, among: 'alive', precision: 0.25, budget: 100, batch: 4 });
});

test('a search run is an ordinary run: its key is the hash of its full parameters and seed = spec.seed + repeat', () => {
  const spec = parseSpec(SPEC(''), 's.yaml');
  const plan = expandSearch(spec);
  const b = plan.boundaries[1]!;
  const run = searchRun(spec, plan, b, 80, 3);
  assert.equal(run.seed, 8);
  assert.equal(run.params.n_samples, 80);
  assert.equal(run.params.seq_len, 200);
  assert.equal(run.runKey, runKeyOf(canonicalJson(run.params), 8));
});

test('the searched axis cannot also be a grid axis or have fixed values', () => {
  assert.throws(
    () => parseSpec(['name: s', 'grid: {n_samples: [10]}', 'search:', '  axis: n_samples', '  range: [10, 20]', ''].join('\n'), 's.yaml'),
    (e: unknown) => e instanceof ConvergeError && e.code === 'spec.conflict' && /searched axis/.test(e.message),
  );
  assert.throws(
    () => parseSpec(['name: s', 'search:', '  axis: n_samples', '  for: {n_samples: [10]}', '  range: [10, 20]', ''].join('\n'), 's.yaml'),
    (e: unknown) => e instanceof ConvergeError && e.code === 'spec.conflict',
  );
});

test('a range whose ends are reversed is refused with the values it evaluated to', () => {
  const spec = parseSpec(['name: s', 'data: {seq_len: 20}', 'search:', '  axis: n_samples', '  range: [seq_len+1, 10]', ''].join('\n'), 's.yaml');
  assert.throws(() => expandSearch(spec), /search\.range: \[21, 10\]; expected the first end below the second/);
});
