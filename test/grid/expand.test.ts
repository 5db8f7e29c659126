import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConvergeError } from '../../src/errors';
import { expandPlan } from '../../src/grid';
import { parseSpec } from '../../src/spec';

const plan = (text: string) => expandPlan(parseSpec(text, 'g.yaml'));

describe('grid expansion', () => {
  it('the cells are the cartesian product of the axes, times the seeds', () => {
    const p = plan('name: t\nrepeats: 3\ngrid:\n  seq_len: [20, 30]\n  n_samples: [10, 15, 20]\n  batch_size: [1, 32]\n');
    assert.equal(p.cells.length, 12);
    assert.equal(p.runs.length, 36);
    assert.deepEqual(p.axes, ['batch_size', 'n_samples', 'seq_len']);
    assert.deepEqual([...new Set(p.runs.map((r) => r.seed))], [0, 1, 2]);
    assert.equal(new Set(p.runs.map((r) => r.runKey)).size, 36, 'run keys are unique');
  });

  it('cases are crossed with the grid', () => {
    const p = plan('name: t\ngrid:\n  batch_size: [1, 32]\ncases:\n  - {seq_len: 200, n_samples: 80}\n  - {seq_len: 200, n_samples: 130}\n  - {seq_len: 500, n_samples: 300}\n');
    assert.equal(p.cells.length, 6);
    assert.deepEqual(p.axes, ['batch_size', 'n_samples', 'seq_len']);
  });

  it('expansion is deterministic: the same spec gives the same run keys in the same order', () => {
    const t = 'name: t\nrepeats: 2\ngrid:\n  seq_len: [20, 30]\n  n_samples: [10, 15]\n';
    assert.deepEqual(plan(t).runs.map((r) => r.runKey), plan(t).runs.map((r) => r.runKey));
  });

  it('the order of keys in the file does not change run keys', () => {
    const a = plan('name: t\ngrid:\n  seq_len: [20]\n  n_samples: [10]\n');
    const b = plan('name: t\ngrid:\n  n_samples: [10]\n  seq_len: [20]\n');
    assert.deepEqual(a.runs.map((r) => r.runKey), b.runs.map((r) => r.runKey));
  });

  it('adding seeds keeps the keys of the existing runs', () => {
    const a = plan('name: t\nrepeats: 2\ndata: {seq_len: 20, n_samples: 10}\n');
    const b = plan('name: t\nrepeats: 5\ndata: {seq_len: 20, n_samples: 10}\n');
    assert.deepEqual(b.runs.slice(0, 2).map((r) => r.runKey), a.runs.map((r) => r.runKey));
  });

  it('changing a training parameter changes every run key (old and new results never mix)', () => {
    const a = plan('name: t\ndata: {seq_len: 20, n_samples: 10}\ntrain: {epochs: 5}\n');
    const b = plan('name: t\ndata: {seq_len: 20, n_samples: 10}\ntrain: {epochs: 6}\n');
    assert.notEqual(a.runs[0]!.runKey, b.runs[0]!.runKey);
  });

  it('a grid with n_samples above seq_len+1 is refused with spec.impossibleCell', () => {
    assert.throws(
      () => plan('name: t\ngrid:\n  seq_len: [20]\n  n_samples: [10, 30]\n'),
      (e: unknown) => e instanceof ConvergeError && e.code === 'spec.impossibleCell' && /n_samples=30 > seq_len\+1=21/.test(e.message) && /impossible: skip/.test(e.message),
    );
  });

  it('with impossible: skip each skipped cell is listed with its reason', () => {
    const p = plan('name: t\nimpossible: skip\ngrid:\n  seq_len: [20, 40]\n  n_samples: [10, 30]\n');
    assert.equal(p.cells.length, 3);
    assert.equal(p.skipped.length, 1);
    assert.deepEqual(p.skipped[0]!.axisValues, { n_samples: 30, seq_len: 20 });
    assert.match(p.skipped[0]!.reason, /only seq_len\+1 distinct rows/);
  });

  it('a cell whose validation split would be empty is impossible', () => {
    assert.throws(() => plan('name: t\ndata: {seq_len: 20, n_samples: 5}\n'), /leaves no validation row/);
  });

  it('a missing seq_len is refused naming where to set it', () => {
    assert.throws(() => plan('name: t\ngrid:\n  n_samples: [10]\n'), (e: unknown) => e instanceof ConvergeError && e.code === 'spec.missingParam');
  });

  it('the work is seq_len × n_samples × epochs summed over runs', () => {
    const p = plan('name: t\nrepeats: 2\ndata: {seq_len: 20, n_samples: 10}\ntrain: {epochs: 3}\n');
    assert.equal(p.timestepEpochs, 2 * 20 * 10 * 3);
  });
});
