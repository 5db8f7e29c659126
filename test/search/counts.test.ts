import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countOf, type Among, type Outcome } from '../../src/outcome';
import { tallyRuns, type RunRow } from '../../src/report';
import { expandSearch, searchCellKey, searchStates, seedOutcome, seedsWanted, tallyProbes, type SearchRunRow } from '../../src/search';
import { parseSpec } from '../../src/spec';

const SPEC = (among: Among) =>
  ['name: s', 'seed: 0', 'repeats: 4', 'data: {seq_len: 20}', 'converged: {metric: unseen_mae}', 'search:', '  axis: n_samples', '  range: [10, seq_len+1]', `  among: ${among}`, ''].join('\n');

type Stored = Pick<SearchRunRow, 'status' | 'outcome' | 'aliveAtInit'>;

/** Every kind of run a cell can hold: one per way of counting (or not) in n. */
const KINDS: Stored[] = [
  { status: 'done', outcome: 'converged', aliveAtInit: 1 },
  { status: 'done', outcome: 'not_converged', aliveAtInit: 1 },
  { status: 'done', outcome: 'dead', aliveAtInit: 1 },
  { status: 'done', outcome: 'dead_at_init', aliveAtInit: 0 },
  { status: 'done', outcome: 'diverged', aliveAtInit: 1 },
  { status: 'done', outcome: null, aliveAtInit: 1 }, // lacks the rule's metric (unseen_mae at N = L+1)
  { status: 'done', outcome: 'not_converged', aliveAtInit: null }, // alive-at-init not measured
  { status: 'failed', outcome: 'failed', aliveAtInit: null },
  { status: 'failed', outcome: 'timed_out', aliveAtInit: null },
  { status: 'pending', outcome: null, aliveAtInit: null },
  { status: 'running', outcome: null, aliveAtInit: null },
];

function rowsAt(among: Among, value: number, runs: readonly Stored[]): { spec: ReturnType<typeof parseSpec>; rows: SearchRunRow[] } {
  const spec = parseSpec(SPEC(among), 's.yaml');
  const plan = expandSearch(spec);
  const cellKey = searchCellKey(plan, plan.boundaries[0]!, value);
  return { spec, rows: runs.map((r, i) => ({ id: i + 1, cellKey, repeat: i, seed: spec.seed + i, ...r })) };
}

function asReportRow(r: Stored, id: number): RunRow {
  return {
    id, runKey: `k${id}`, seed: id, params: {}, status: r.status, outcome: r.outcome as Outcome | null,
    aliveAtInit: r.aliveAtInit === null ? null : r.aliveAtInit === 1,
    finalValMae: null, finalLoss: null, convergedEpoch: null, epochsRun: null, seconds: null,
  };
}

test('a search with converged: {metric: unseen_mae} does not count runs at N = L+1, which have no unseen rows, as not converged', () => {
  // Four finished runs at N = L+1 = 21: every row drawn, so no unseen_mae and no outcome.
  const lacking: Stored[] = Array.from({ length: 4 }, () => ({ status: 'done', outcome: null, aliveAtInit: 1 }));
  for (const among of ['alive', 'all'] as const) {
    const { spec, rows } = rowsAt(among, 21, lacking);
    const [state] = searchStates(spec, expandSearch(spec), rows);
    assert.equal(state!.unfinished, 0);
    assert.deepEqual(tallyProbes(state!.observations, among), [{ value: 21, k: 0, n: 0 }], `among ${among}: report leaves these runs out of n`);
    assert.equal(tallyRuns(lacking.map(asReportRow)).n, 0);
  }
});

test('the search, report and compare count every kind of run in n the same way, among alive and among all', () => {
  for (const among of ['alive', 'all'] as const) {
    const { spec, rows } = rowsAt(among, 21, KINDS.filter((r) => r.status !== 'pending' && r.status !== 'running'));
    const [state] = searchStates(spec, expandSearch(spec), rows);
    const probe = tallyProbes(state!.observations, among)[0]!;
    const t = tallyRuns(KINDS.map(asReportRow));
    const [k, n] = among === 'all' ? [t.k, t.n] : [t.kAlive, t.alive];
    assert.deepEqual({ k: probe.k, n: probe.n }, { k, n }, `among ${among}`);
    const rule = KINDS.map((r) => countOf({ ...r, aliveAtInit: r.aliveAtInit === null ? null : r.aliveAtInit === 1 }, among));
    assert.equal(n, rule.filter((c) => c === 'converged' || c === 'not_converged').length);
  }
  // Pending and running runs hold the search back: they are not observations yet.
  const { spec, rows } = rowsAt('all', 21, KINDS);
  assert.equal(searchStates(spec, expandSearch(spec), rows)[0]!.unfinished, 2);
});

test('adaptive repeats skip a run lacking the rule metric instead of calling it not converged', () => {
  const lacks = seedOutcome(countOf({ status: 'done', outcome: null, aliveAtInit: true }, 'all'));
  assert.equal(lacks, 'skip');
  assert.equal(seedOutcome(countOf({ status: 'done', outcome: 'dead_at_init', aliveAtInit: false }, 'all')), false, 'a dead run is in the report\'s n, not converged');
  assert.equal(seedOutcome(countOf({ status: 'failed', outcome: 'failed', aliveAtInit: null }, 'all')), 'skip');
  assert.equal(seedOutcome(countOf({ status: 'running', outcome: null, aliveAtInit: null }, 'all')), undefined);
  // Four converged seeds and four lacking the metric: the cell is 4/4, decided at a wide interval.
  const cfg = { min: 8, max: 16, batch: 8, until: { decide: 0.3 } };
  const outcomes = [true, true, true, true, lacks, lacks, lacks, lacks];
  assert.equal(seedsWanted(cfg, outcomes), 8, '4/4 converged: the interval [0.51, 1] excludes 0.3');
  assert.equal(seedsWanted(cfg, [true, true, true, true, false, false, false, false]), 16, 'read as 4/8, it would be undecided');
});
