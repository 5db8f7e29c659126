import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConvergeError } from '../../src/errors';
import { parseSpec, sweepJsonSchema } from '../../src/spec';
import { ROOT } from '../helpers';

function refusal(text: string): ConvergeError {
  try {
    parseSpec(text, 'x.yaml');
  } catch (e) {
    assert.ok(e instanceof ConvergeError, `expected a ConvergeError, got ${String(e)}`);
    return e;
  }
  assert.fail('the spec was accepted');
}

describe('sweep spec loading', () => {
  it('a minimal spec gets the seed answer\'s Keras defaults, set explicitly where tfjs differs', () => {
    const s = parseSpec('name: t\ndata: {seq_len: 200, n_samples: 130}\n', 't.yaml');
    assert.equal(s.base.recurrent_activation, 'sigmoid');
    assert.equal(s.base.unit_forget_bias, true);
    assert.equal(s.base.kernel_initializer, 'orthogonal');
    assert.equal(s.base.kernel_gain, 0.01);
    assert.equal(s.base.recurrent_initializer, 'orthogonal');
    assert.equal(s.base.masking, true);
    assert.equal(s.base.output_activation, 'relu');
    assert.equal(s.base.learning_rate, 0.001);
    assert.equal(s.base.epsilon, 1e-7);
    assert.equal(s.base.epochs, 50);
    assert.equal(s.base.batch_size, 1);
    assert.equal(s.base.engine, 'fused');
    assert.deepEqual(s.converged, { metric: 'pop_mae', threshold: 0.05 });
    assert.equal(s.repeats, 1);
  });

  it('malformed YAML is refused with spec.yaml and the line', () => {
    const e = refusal('name: t\ngrid:\n  seq_len: [10\n  n_samples: [5]\n');
    assert.equal(e.code, 'spec.yaml');
    assert.match(e.message, /^x\.yaml:\d+: malformed YAML: /);
    assert.equal(e.message.split('\n').length, 1);
  });

  it('an unknown key is refused with its line and a did-you-mean', () => {
    const e = refusal('name: t\ndata: {seq_len: 10, n_samples: 5}\nmodel:\n  unit: 10\n');
    assert.equal(e.code, 'spec.unknownKey');
    assert.equal(e.message, 'x.yaml:4: model: unknown key "unit" (did you mean "units"?)');
  });

  it('an unknown grid axis is refused with a did-you-mean', () => {
    const e = refusal('name: t\ngrid:\n  seq_len: [10]\n  batchsize: [1]\n');
    assert.equal(e.message, 'x.yaml:4: grid: unknown key "batchsize" (did you mean "batch_size"?)');
  });

  it('a negative grid value is refused naming the index, the value and what is allowed', () => {
    const e = refusal('name: t\ndata: {seq_len: 10, n_samples: 5}\ngrid:\n  batch_size: [1, 2, -4]\n');
    assert.equal(e.code, 'spec.invalid');
    assert.equal(e.message, 'x.yaml:4: grid.batch_size[2]: expected a positive integer, got -4');
  });

  it('a zero size is refused', () => {
    const e = refusal('name: t\ndata: {seq_len: 0, n_samples: 5}\n');
    assert.equal(e.message, 'x.yaml:2: data.seq_len: expected a positive integer, got 0');
  });

  it('a wrong type is refused with what was found', () => {
    const e = refusal('name: t\ndata: {seq_len: ten, n_samples: 5}\n');
    assert.equal(e.message, 'x.yaml:2: data.seq_len: expected a positive integer, got "ten"');
  });

  it('an enum value outside the allowed set lists the allowed values', () => {
    const e = refusal('name: t\nmodel:\n  recurrent_activation: relu\n');
    assert.equal(e.message, 'x.yaml:3: model.recurrent_activation: expected one of "sigmoid", "hard_sigmoid", got "relu"');
  });

  it('a spec without a name is refused', () => {
    const e = refusal('data: {seq_len: 10, n_samples: 5}\n');
    assert.match(e.message, /name/);
  });

  it('a parameter set both as a grid axis and in cases is refused with spec.conflict', () => {
    const e = refusal('name: t\ngrid:\n  seq_len: [10]\ncases:\n  - {seq_len: 20, n_samples: 5}\n');
    assert.equal(e.code, 'spec.conflict');
  });

  it('the same value twice on one axis is refused', () => {
    const e = refusal('name: t\ndata: {seq_len: 10, n_samples: 5}\ngrid:\n  batch_size: [1, 1]\n');
    assert.equal(e.code, 'spec.duplicateValue');
  });

  it('the spec hash changes with the text and not otherwise', () => {
    const a = parseSpec('name: t\n', 'a.yaml');
    const b = parseSpec('name: t\n', 'b.yaml');
    const c = parseSpec('name: t\nrepeats: 2\n', 'c.yaml');
    assert.equal(a.source.hash, b.source.hash);
    assert.notEqual(a.source.hash, c.source.hash);
  });

  it('the published JSON Schema (sweeps/sweep.schema.json) is the one the code validates with', () => {
    const published = JSON.parse(readFileSync(join(ROOT, 'sweeps', 'sweep.schema.json'), 'utf8')) as unknown;
    assert.deepEqual(published, sweepJsonSchema(), 'regenerate it: node dist/src/cli/main.js schema --out sweeps/sweep.schema.json');
  });

  it('every shipped sweep in sweeps/ is valid', () => {
    for (const f of ['smoke.yaml', 'seed-finding.yaml', 'answer-cases.yaml']) {
      const s = parseSpec(readFileSync(join(ROOT, 'sweeps', f), 'utf8'), f);
      assert.ok(s.name.length > 0);
    }
  });
});
