import { test } from 'node:test';
import assert from 'node:assert/strict';
import { summarizeCells } from '../../src/report';
import type { Outcome, ParamValue, ReportInput, RunRow } from '../../src/report';

let nextId = 1;
function run(params: Record<string, ParamValue>, outcome: Outcome | null, extra: Partial<RunRow> = {}): RunRow {
  const id = nextId++;
  return {
    id, runKey: `k${id}`, seed: id, params: { epochs: 50, units: 10, ...params },
    status: outcome === null ? 'pending' : outcome === 'failed' ? 'failed' : 'done',
    outcome, finalValMae: outcome === 'converged' ? 0.01 : 0.25, finalLoss: 0.1,
    convergedEpoch: outcome === 'converged' ? 20 : null, epochsRun: 50, seconds: 1, ...extra,
  };
}
const input = (axes: string[], runs: RunRow[]): ReportInput => ({ sweepName: 't', axes, runs, threshold: 0.05, metric: 'val_mae' });

test('runs are grouped into one cell per combination of the axes, sorted numerically', () => {
  const runs = [
    run({ seq_len: 200, n_samples: 130 }, 'converged'),
    run({ seq_len: 200, n_samples: 80 }, 'not_converged'),
    run({ seq_len: 1000, n_samples: 80 }, 'dead'),
    run({ seq_len: 200, n_samples: 80 }, 'converged'),
  ];
  const cells = summarizeCells(input(['n_samples', 'seq_len'], runs));
  assert.deepEqual(cells.map((c) => c.key), ['n_samples=80 seq_len=200', 'n_samples=80 seq_len=1000', 'n_samples=130 seq_len=200']);
  assert.deepEqual(cells[0]!.params, { n_samples: 80, seq_len: 200 }, 'params hold the axes only');
  assert.equal(cells[0]!.runs, 2);
});

test('a cell counts k converged out of n finished runs, leaving unfinished, failed and timed-out runs out of the rate', () => {
  const p = { batch_size: 1 };
  const runs = [
    run(p, 'converged', { convergedEpoch: 10 }), run(p, 'converged', { convergedEpoch: 30 }), run(p, 'converged', { convergedEpoch: 20 }),
    run(p, 'not_converged'), run(p, 'dead'), run(p, 'diverged', { finalValMae: null }), run(p, 'failed'), run(p, 'timed_out', { status: 'failed' }),
    run(p, null), run(p, null, { status: 'running' }),
  ];
  const [c] = summarizeCells(input(['batch_size'], runs));
  assert.ok(c);
  assert.equal(c.runs, 10);
  assert.equal(c.done, 6);
  assert.equal(c.n, 6);
  assert.equal(c.converged, 3);
  assert.equal(c.rate, 3 / 6);
  assert.deepEqual(c.outcomes, { converged: 3, not_converged: 1, dead_at_init: 0, dead: 1, diverged: 1, no_metric: 0, failed: 1, timed_out: 1 });
  assert.deepEqual(c.failedRuns, [runs[6]!.id, runs[7]!.id]);
  assert.ok(c.ci.lo > 0 && c.ci.lo < 3 / 6 && c.ci.hi > 3 / 6 && c.ci.hi < 1);
  assert.deepEqual(c.convergedEpoch, { q1: 15, median: 20, q3: 25 }, 'epochs of converged runs only');
  // val_mae over the 5 finished runs with a value: 0.01 ×3 and 0.25 ×2 (the diverged run has none).
  assert.equal(c.valMae.median, 0.01);
  assert.equal(c.valMae.q3, 0.25);
});

test('the rate among runs alive at init leaves the init lottery out, with its own Wilson interval', () => {
  const runs = [
    run({}, 'converged', { aliveAtInit: true }), run({}, 'converged', { aliveAtInit: true }), run({}, 'not_converged', { aliveAtInit: true }),
    run({}, 'dead_at_init', { aliveAtInit: false }), run({}, 'dead_at_init', { aliveAtInit: false }), run({}, 'failed', { aliveAtInit: true }),
  ];
  const [c] = summarizeCells(input([], runs));
  assert.deepEqual([c!.converged, c!.n, c!.convergedAlive, c!.alive], [2, 5, 2, 3]);
  assert.equal(c!.rateAlive, 2 / 3);
  // The Wilson bounds are the two roots x of n (k/n − x)² = z² x (1 − x): checked on that equation, not the closed form.
  const z = 1.959964;
  for (const x of [c!.ciAlive.lo, c!.ciAlive.hi]) assert.ok(Math.abs(3 * (2 / 3 - x) ** 2 - z * z * x * (1 - x)) < 1e-12, `root ${x}`);
  assert.ok(c!.ciAlive.lo < 2 / 3 && c!.ciAlive.hi > 2 / 3);
});

test('a finished run that lacks the rule metric is counted apart, not in n', () => {
  const [c] = summarizeCells(input([], [run({}, null, { status: 'done', lacksMetric: true }), run({}, 'converged')]));
  assert.deepEqual([c!.n, c!.converged, c!.lacksMetric], [1, 1, 1]);
});

test('a cell with no finished runs has no rate and the interval [0, 1]', () => {
  const [c] = summarizeCells(input(['seq_len'], [run({ seq_len: 200 }, null)]));
  assert.equal(c!.rate, null);
  assert.deepEqual(c!.ci, { lo: 0, hi: 1 });
  assert.deepEqual(c!.valMae, { q1: null, median: null, q3: null });
});

test('with no axes all runs form one cell', () => {
  const cells = summarizeCells(input([], [run({ seq_len: 200 }, 'converged'), run({ seq_len: 500 }, 'dead')]));
  assert.equal(cells.length, 1);
  assert.equal(cells[0]!.key, '');
  assert.deepEqual(cells[0]!.params, {});
  assert.equal(cells[0]!.n, 2);
});

test('string and boolean axes sort after numbers and keep 1 apart from "1"', () => {
  const runs = [
    run({ init: 'orthogonal' }, 'converged'), run({ init: 'glorot_uniform' }, 'dead'),
    run({ init: 1 }, 'dead'), run({ init: '1' }, 'dead'), run({ init: true }, 'dead'),
  ];
  assert.deepEqual(summarizeCells(input(['init'], runs)).map((c) => c.key), ['init=1', 'init=true', 'init="1"', 'init=glorot_uniform', 'init=orthogonal']);
});

test('cell keys quote string values that contain spaces', () => {
  const [c] = summarizeCells(input(['engine'], [run({ engine: 'tfjs cpu' }, 'converged')]));
  assert.equal(c!.key, 'engine="tfjs cpu"');
});
