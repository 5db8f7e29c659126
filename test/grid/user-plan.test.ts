import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { expandPlan, runCost, USER_RUN_COST, type CostParams } from '../../src/grid';
import { expandSearch, searchCellKey, searchRun } from '../../src/search';
import { parseSpec } from '../../src/spec';
import { tempDir } from '../helpers';

const dir = tempDir('converge-user-plan-');
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'xor.mjs'), 'export async function train() {}\n');

const PARAMS = ['params:', '  hidden: {type: integer, default: 2, min: 1}', '  learning_rate: {type: number, default: 0.5}', '  momentum: {type: boolean, default: false}'];
const MODULE = (extra: string[] = [], trainer = 'trainer: {module: ./xor.mjs}') =>
  parseSpec(['name: xor', trainer, ...PARAMS, 'grid: {hidden: [2, 3], learning_rate: [0.5, 2]}', 'repeats: 2', 'seed: 10', 'converged: {metric: loss, below: 0.05}', ...extra, ''].join('\n'), join(dir, 's.yaml'));

/** The key formula of the design, computed here independently of src/grid. */
const sha = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 20);

describe('the plan of a user-trainer sweep', () => {
  it('has one cell per grid combination, with every declared parameter and nothing else', () => {
    const plan = expandPlan(MODULE());
    assert.deepEqual(plan.axes, ['hidden', 'learning_rate']);
    assert.equal(plan.cells.length, 4);
    assert.equal(plan.runs.length, 8);
    assert.deepEqual(plan.cells[0]!.params, { hidden: 2, learning_rate: 0.5, momentum: false });
    assert.deepEqual(plan.cells.map((c) => c.axisValues), [
      { hidden: 2, learning_rate: 0.5 },
      { hidden: 2, learning_rate: 2 },
      { hidden: 3, learning_rate: 0.5 },
      { hidden: 3, learning_rate: 2 },
    ]);
    assert.deepEqual(plan.runs.slice(0, 2).map((r) => [r.seed, r.repeat]), [[10, 0], [11, 1]]);
    assert.equal(plan.timestepEpochs, 0);
  });

  it('params_json is the declared parameters as sorted JSON, and the keys hash it with the trainer identity', () => {
    const run = expandPlan(MODULE()).runs[0]!;
    assert.equal(run.paramsJson, '{"hidden":2,"learning_rate":0.5,"momentum":false}');
    assert.equal(run.runKey, sha(`${run.paramsJson}#trainer=module:./xor.mjs#seed=10`));
    assert.equal(run.cellKey, sha(`${run.paramsJson}#trainer=module:./xor.mjs`));
  });

  it('a command trainer with the same parameters makes other keys; its identity is the argv template', () => {
    const cmd = expandPlan(MODULE([], 'trainer: {command: [python3, train.py, "{hidden}"]}')).runs[0]!;
    const mod = expandPlan(MODULE()).runs[0]!;
    assert.equal(cmd.paramsJson, mod.paramsJson);
    assert.notEqual(cmd.runKey, mod.runKey);
    assert.equal(cmd.runKey, sha(`${cmd.paramsJson}#trainer=command:["python3","train.py","{hidden}"]#seed=10`));
  });

  it('editing the module file keeps the keys (its content is recorded per run, not keyed)', () => {
    const before = expandPlan(MODULE()).runs.map((r) => r.runKey);
    writeFileSync(join(dir, 'xor.mjs'), 'export async function train() { /* edited */ }\n');
    assert.deepEqual(expandPlan(MODULE()).runs.map((r) => r.runKey), before);
  });

  it('cases cross the grid and a default fills what no cell sets; a repeated cell is planned once', () => {
    const spec = parseSpec(
      ['name: c', 'trainer: {module: ./xor.mjs}', ...PARAMS, 'grid: {hidden: [2]}', 'cases:', '  - {momentum: true}', '  - {learning_rate: 1}', '  - {momentum: true}', 'converged: {metric: loss, below: 0.05}', ''].join('\n'),
      join(dir, 'c.yaml'),
    );
    const plan = expandPlan(spec);
    assert.deepEqual(plan.axes, ['hidden', 'learning_rate', 'momentum']);
    assert.deepEqual(plan.cells.map((c) => c.params), [
      { hidden: 2, learning_rate: 0.5, momentum: true },
      { hidden: 2, learning_rate: 1, momentum: false },
    ]);
  });

  it('a user run costs USER_RUN_COST (unknown), a built-in run its cost model', () => {
    const run = expandPlan(MODULE()).runs[0]!;
    assert.equal(runCost(run.params as unknown as CostParams), USER_RUN_COST);
    assert.ok(runCost({ engine: 'fused', seq_len: 10, n_samples: 5, test_fraction: 0.1, epochs: 3, batch_size: 1, masking: true }) !== USER_RUN_COST);
  });
});

describe('a search over a declared integer parameter', () => {
  const spec = () => parseSpec(
    ['name: s', 'trainer: {module: ./xor.mjs}', ...PARAMS, 'search: {axis: hidden, range: [1, 16], budget: 40}', 'grid: {learning_rate: [0.5, 2]}', 'repeats: 2', 'converged: {metric: loss, below: 0.05}', ''].join('\n'),
    join(dir, 's.yaml'),
  );

  it('has one boundary per grid value, counting all runs; its runs carry the declared parameters and the trainer in their keys', () => {
    const s = spec();
    const plan = expandSearch(s);
    assert.equal(plan.boundaries.length, 2);
    assert.equal(plan.identity, 'module:./xor.mjs');
    assert.deepEqual(plan.boundaries.map((b) => [b.settings.lo, b.settings.hi, b.settings.among]), [[1, 16, 'all'], [1, 16, 'all']]);
    assert.deepEqual(plan.boundaries[1]!.params, { learning_rate: 2, momentum: false });
    const run = searchRun(s, plan, plan.boundaries[1]!, 5, 1);
    assert.equal(run.paramsJson, '{"hidden":5,"learning_rate":2,"momentum":false}');
    assert.equal(run.runKey, sha(`${run.paramsJson}#trainer=module:./xor.mjs#seed=1`));
    assert.equal(searchCellKey(plan, plan.boundaries[1]!, 5), run.cellKey);
  });

  it('a range outside the declared bounds of the axis is refused at load, and an expression end when the search expands', () => {
    const text = (range: string) =>
      ['name: s', 'trainer: {module: ./xor.mjs}', ...PARAMS.map((l) => l.replace('min: 1}', 'min: 1, max: 8}')), `search: {axis: hidden, range: ${range}}`, 'converged: {metric: loss, below: 0.05}', ''].join('\n');
    assert.throws(() => parseSpec(text('[1, 16]'), join(dir, 's.yaml')), /s\.yaml:7: search\.range\[1\]: expected an integer >= 1 and <= 8, got 16$/);
    const s = parseSpec(text('[1, "learning_rate*40"]'), join(dir, 's.yaml'));
    assert.throws(() => expandSearch(s), /search\.range\[1\]: hidden=20: expected an integer >= 1 and <= 8, got 20 \(params\.hidden\)/);
  });
});
