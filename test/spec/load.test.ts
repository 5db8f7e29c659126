import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConvergeError } from '../../src/errors';
import { parseOverride, parseSpec, sameSpec, sha256, sweepJsonSchema } from '../../src/spec';
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

function refusalOf(f: () => unknown): ConvergeError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConvergeError, `expected a ConvergeError, got ${String(e)}`);
    return e;
  }
  assert.fail('accepted');
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

  it('the spec hash is over the parsed spec: comments, formatting and key order do not change it, values do', () => {
    const a = parseSpec('name: t\nrepeats: 2\ndata: {seq_len: 10, n_samples: 5}\ngrid:\n  batch_size: [1, 4]\n  units: [5]\n', 'a.yaml');
    const b = parseSpec(
      '# a comment\ngrid:   # axes\n  units:\n    - 5\n  batch_size: [1,   4]\ndata:\n  n_samples: 5   # N\n  seq_len: 10\nrepeats: 2\nname: t\n',
      'b.yaml',
    );
    assert.equal(a.source.hash, b.source.hash);
    assert.notEqual(a.source.text, b.source.text, 'the text itself is kept as written');
    const values = ['repeats: 3', 'seq_len: 11', 'batch_size: [4, 1]', 'units: [6]', 'name: u'];
    const texts = [
      'name: t\nrepeats: 3\ndata: {seq_len: 10, n_samples: 5}\ngrid:\n  batch_size: [1, 4]\n  units: [5]\n',
      'name: t\nrepeats: 2\ndata: {seq_len: 11, n_samples: 5}\ngrid:\n  batch_size: [1, 4]\n  units: [5]\n',
      'name: t\nrepeats: 2\ndata: {seq_len: 10, n_samples: 5}\ngrid:\n  batch_size: [4, 1]\n  units: [5]\n',
      'name: t\nrepeats: 2\ndata: {seq_len: 10, n_samples: 5}\ngrid:\n  batch_size: [1, 4]\n  units: [6]\n',
      'name: u\nrepeats: 2\ndata: {seq_len: 10, n_samples: 5}\ngrid:\n  batch_size: [1, 4]\n  units: [5]\n',
    ];
    for (const [i, t] of texts.entries()) assert.notEqual(parseSpec(t, 'c.yaml').source.hash, a.source.hash, values[i]);
    // Defaults written out or left implicit are the same spec.
    assert.equal(parseSpec('name: t\nseed: 0\nrepeats: 1\nimpossible: refuse\n', 'd.yaml').source.hash, parseSpec('name: t\n', 'e.yaml').source.hash);
  });

  it('a database written before the canonical hash (a hash of the raw text) is still recognised as the same spec', () => {
    const text = '# shard run by an older converge\nname: t\nrepeats: 2\n';
    const old = { hash: sha256(text), text };
    const now = parseSpec('name: t\nrepeats: 2   # reformatted\n', 'x.yaml');
    assert.notEqual(old.hash, now.source.hash);
    assert.equal(sameSpec(old, { hash: now.source.hash, text: now.source.text }), true);
    assert.equal(sameSpec(old, { hash: sha256(text), text }), true);
    const other = parseSpec('name: t\nrepeats: 3\n', 'y.yaml');
    assert.equal(sameSpec(old, { hash: other.source.hash, text: other.source.text }), false);
    assert.equal(sameSpec({ hash: 'x', text: 'not: [valid' }, { hash: 'y', text: 'not: [valid' }), false);
  });

  it('a grid axis given a single value says a list is expected', () => {
    const e = refusal('name: t\ndata: {seq_len: 20}\ngrid: {n_samples: 10}\n');
    assert.equal(e.message, 'x.yaml:3: grid.n_samples: expected a list of values (e.g. [10, 20]), got 10');
  });

  it('an empty axis says it got an empty list', () => {
    const e = refusal('name: t\ndata: {seq_len: 20}\ngrid:\n  n_samples: []\n');
    assert.equal(e.message, 'x.yaml:4: grid.n_samples: expected a non-empty list, got an empty list');
  });

  it('repeats of a wrong type is refused with the wording of every other size', () => {
    assert.equal(refusal('name: t\nrepeats: five\n').message, 'x.yaml:2: repeats: expected a positive integer, got "five"');
    assert.equal(refusal('name: t\nrepeats: 0\n').message, 'x.yaml:2: repeats: expected a positive integer, got 0');
  });

  it('a parameter at the top level or in the wrong section says where it belongs', () => {
    const top = refusal('name: t\nseq_len: 200\n');
    assert.equal(top.code, 'spec.unknownKey');
    assert.equal(top.message, 'x.yaml:2: seq_len belongs under data: (or grid: as an axis), not at the top level');
    const wrong = refusal('name: t\nmodel:\n  units: 5\n  optimizer: adam\n');
    assert.equal(wrong.message, 'x.yaml:4: optimizer belongs under train: (or grid: as an axis), not under model:');
  });

  it('a parameter set both under its section and as a grid axis is refused with spec.conflict', () => {
    const e = refusal('name: t\ndata:\n  seq_len: 20\n  n_samples: 10\ngrid:\n  seq_len: [20, 30]\n');
    assert.equal(e.code, 'spec.conflict');
    assert.equal(e.message, 'x.yaml:6: grid.seq_len: "seq_len" is also set under data:; give one value there or several in grid, not both');
    assert.equal(refusal('name: t\nengine: tfjs\ndata: {seq_len: 20, n_samples: 10}\ngrid:\n  engine: [fused, tfjs]\n').code, 'spec.conflict');
  });

  describe('--set overrides', () => {
    const base = '# my sweep\nname: t\ndata:\n  seq_len: 20   # L\ntrain:\n  epochs: 3\ngrid:\n  n_samples: [10]\n';
    const withSet = (...set: string[]) => parseSpec(base, 'x.yaml', { overrides: set.map(parseOverride) });

    it('a dotted key sets any spec key, the value read as YAML, before validation', () => {
      const s = withSet('train.epochs=100', 'grid.n_samples=[10, 13]', 'model.masking=false', 'repeats=4');
      assert.equal(s.base.epochs, 100);
      assert.deepEqual(s.grid.n_samples, [10, 13]);
      assert.equal(s.base.masking, false);
      assert.equal(s.repeats, 4);
      assert.equal(s.base.seq_len, 20, 'the other keys are kept');
    });

    it('the recorded spec text and hash are those of the spec with the overrides, comments kept', () => {
      const s = withSet('train.epochs=100');
      const edited = parseSpec(base.replace('epochs: 3', 'epochs: 100'), 'x.yaml');
      assert.equal(s.source.hash, edited.source.hash);
      assert.notEqual(s.source.hash, parseSpec(base, 'x.yaml').source.hash);
      assert.match(s.source.text, /^# converge --set train\.epochs=100\n/);
      assert.match(s.source.text, /# L/);
      assert.equal(parseSpec(s.source.text, 'recorded').base.epochs, 100, 'the recorded text parses to what ran');
    });

    it('an invalid value points at the --set, not at a line of the file', () => {
      assert.equal(refusalOf(() => withSet('train.epochs=abc')).message, '--set train.epochs=abc: expected a positive integer, got "abc"');
      assert.equal(refusalOf(() => withSet('grid.n_samples=[10,-1]')).message, '--set grid.n_samples=[10,-1]: grid.n_samples[1]: expected a positive integer, got -1');
      const unknown = refusalOf(() => withSet('train.epoch=5'));
      assert.equal(unknown.code, 'spec.unknownKey');
      assert.equal(unknown.message, '--set train.epoch=5: train: unknown key "epoch" (did you mean "epochs"?)');
      assert.equal(refusalOf(() => withSet('seq_len=5')).message, '--set seq_len=5: seq_len belongs under data: (or grid: as an axis), not at the top level');
    });

    it('a malformed --set is refused with spec.badSet', () => {
      for (const arg of ['epochs', '=5', 'train..epochs=5', 'train.epochs=[1']) {
        assert.equal(refusalOf(() => parseOverride(arg)).code, 'spec.badSet', arg);
      }
      assert.equal(refusalOf(() => withSet('name.x=1')).code, 'spec.badSet');
    });
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
