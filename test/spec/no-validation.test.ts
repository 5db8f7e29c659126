import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConvergeError } from '../../src/errors';
import { expandPlan } from '../../src/grid';
import { expandSearch } from '../../src/search/plan';
import { loadSpec, parseOverride, parseSpec } from '../../src/spec';
import { ROOT } from '../helpers';

function refusal(text: string, set: string[] = []): ConvergeError {
  try {
    parseSpec(text, 'x.yaml', { overrides: set.map(parseOverride) });
  } catch (e) {
    assert.ok(e instanceof ConvergeError, `expected a ConvergeError, got ${String(e)}`);
    return e;
  }
  assert.fail('the spec was accepted');
}

const lines = (...l: string[]) => `${l.join('\n')}\n`;

describe('sweeps without a validation split (test_fraction 0)', () => {
  it('test_fraction 0 is accepted, and a cell at n_samples 2 has every row in training', () => {
    const s = parseSpec(lines('name: t', 'data: {seq_len: 9, n_samples: 2, test_fraction: 0}'), 't.yaml');
    assert.equal(s.base.test_fraction, 0);
    const plan = expandPlan(s);
    assert.equal(plan.runs.length, 1);
    assert.equal(plan.skipped.length, 0);
  });

  it('a search over n_samples from 2 is accepted with test_fraction 0', () => {
    const s = parseSpec(lines('name: t', 'data: {test_fraction: 0}', 'search:', '  axis: n_samples', '  for: {seq_len: [9, 50]}', '  range: [2, seq_len+1]'), 't.yaml');
    const plan = expandSearch(s);
    assert.deepEqual(plan.boundaries.map((b) => [b.settings.lo, b.settings.hi]), [[2, 10], [2, 51]]);
  });

  it('a search from 2 with test_fraction 0.1 is still refused, and the message names test_fraction 0 as the way', () => {
    const s = parseSpec(lines('name: t', 'data: {seq_len: 9}', 'search:', '  axis: n_samples', '  range: [2, seq_len+1]'), 't.yaml');
    assert.throws(() => expandSearch(s), (e: ConvergeError) => e.code === 'spec.impossibleCell' && /no validation row \(test_fraction: 0 trains on every row/.test(e.message));
  });

  it('a negative test_fraction is refused', () => {
    const e = refusal(lines('name: t', 'data: {seq_len: 9, n_samples: 2, test_fraction: -0.1}'));
    assert.equal(e.code, 'spec.invalid');
    assert.match(e.message, /^x\.yaml:2: data\.test_fraction: expected a number >= 0/);
  });

  const VAL_RULE = 'converged: {metric: val_mae, threshold: 0.05}';
  const cases: { name: string; text: string; set?: string[]; where: RegExp }[] = [
    { name: 'in data:', text: lines('name: t', 'data: {seq_len: 9, n_samples: 5, test_fraction: 0}', VAL_RULE), where: /^x\.yaml:2: data\.test_fraction: 0 leaves no validation rows, but the rule's metric val_mae \(converged\.metric, line 3\)/ },
    { name: 'as a grid value', text: lines('name: t', 'data: {seq_len: 9, n_samples: 5}', 'grid:', '  test_fraction: [0.5, 0]', 'converged:', '  metric: val_loss'), where: /^x\.yaml:4: grid\.test_fraction\[1\]: 0 leaves no validation rows, but the rule's metric val_loss \(converged\.metric, line 6\)/ },
    { name: 'in a case', text: lines('name: t', 'data: {seq_len: 9}', 'cases:', '  - {n_samples: 6}', '  - {n_samples: 5, test_fraction: 0}', VAL_RULE), where: /^x\.yaml:5: cases\[1\]\.test_fraction: 0 leaves/ },
    { name: 'in search.for', text: lines('name: t', VAL_RULE, 'search:', '  axis: n_samples', '  for: {seq_len: [20], test_fraction: [0]}', '  range: [10, seq_len+1]'), where: /^x\.yaml:5: search\.for\.test_fraction\[0\]: 0 leaves/ },
    { name: 'by --set', text: lines('name: t', 'data: {seq_len: 9, n_samples: 5}', VAL_RULE), set: ['data.test_fraction=0'], where: /^--set data\.test_fraction=0: test_fraction: 0 leaves/ },
  ];
  for (const c of cases) {
    it(`a val_mae rule with test_fraction 0 set ${c.name} is refused at load in one line that says where and what to do`, () => {
      const e = refusal(c.text, c.set);
      assert.equal(e.code, 'spec.noValidationRows');
      assert.equal(e.exitCode, 2);
      assert.match(e.message, c.where);
      assert.match(e.message, /use pop_mae \(all seq_len \+ 1 rows\) or a test_fraction above 0$/);
      assert.doesNotMatch(e.message, /\n/);
    });
  }

  it('a val_mae rule is accepted when every case overrides a base test_fraction of 0', () => {
    const s = parseSpec(lines('name: t', 'data: {seq_len: 9, test_fraction: 0}', 'cases:', '  - {n_samples: 6, test_fraction: 0.5}', VAL_RULE), 't.yaml');
    assert.equal(expandPlan(s).runs.length, 1);
  });
});

describe('the example search without a validation split', () => {
  it('sweeps/boundary-small-n.yaml searches n_samples from 2 at L = 50 and 100 under pop_mae, with test_fraction 0', () => {
    const s = loadSpec(join(ROOT, 'sweeps', 'boundary-small-n.yaml'));
    assert.equal(s.base.test_fraction, 0);
    assert.equal(s.converged.metric, 'pop_mae');
    const plan = expandSearch(s);
    assert.deepEqual(plan.boundaries.map((b) => [b.fixed.seq_len, b.settings.lo, b.settings.hi]), [[50, 2, 51], [100, 2, 101]]);
  });
});
