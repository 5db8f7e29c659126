import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConvergeError } from '../../src/errors';
import { diffSpecs, loadSpecAsync, parseOverride, parseSpec, parseSpecAsync, resolveTrainer, userParamsOf } from '../../src/spec';
import { tempDir, writeSpec } from '../helpers';

const dir = tempDir('converge-user-spec-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** A module trainer that declares `hidden` and `epochs` itself, and the directions of two metrics. */
writeFileSync(
  join(dir, 'xor.mjs'),
  [
    'export const params = {',
    "  hidden: { type: 'integer', default: 2, min: 1, doc: 'hidden units' },",
    "  epochs: { type: 'integer', default: 100, min: 1 },",
    '};',
    "export const metrics = { loss: 'below', accuracy: 'above' };",
    'export async function train(params, ctx) { ctx.report(1, { loss: 0.5 }); }',
    '',
  ].join('\n'),
);
writeFileSync(join(dir, 'no-train.mjs'), 'export const params = {};\nexport function fit() {}\n');
writeFileSync(join(dir, 'bad-metrics.mjs'), "export async function train() {}\nexport const metrics = { loss: 'down' };\n");

const MODULE = (extra = '') =>
  ['name: xor', 'trainer: {module: ./xor.mjs}', 'params:', '  learning_rate: {type: number, default: 0.5, min: 0}', "  activation: {type: string, values: [sigmoid, tanh], default: sigmoid}", 'grid:', '  hidden: [2, 3]', 'repeats: 2', 'converged: {metric: loss, below: 0.05}', extra, ''].join('\n');

const COMMAND = (argv = '[python3, train.py, --lr, "{learning_rate}", --seed, "{seed}"]', extra = '') =>
  ['name: xorpy', `trainer: {command: ${argv}, grace: 2}`, 'params:', '  learning_rate: {type: number, default: 0.5, min: 0}', '  hidden: {type: integer, default: 2, min: 1, max: 8}', 'grid:', '  hidden: [2, 3]', 'converged: {metric: accuracy, above: 0.99, at: best}', extra, ''].join('\n');

async function refusalAsync(f: () => Promise<unknown>): Promise<ConvergeError> {
  try {
    await f();
  } catch (e) {
    assert.ok(e instanceof ConvergeError, `expected a ConvergeError, got ${String(e)}`);
    assert.equal(e.message.split('\n').length, 1, 'one line');
    return e;
  }
  assert.fail('accepted');
}

function refusal(f: () => unknown): ConvergeError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ConvergeError, `expected a ConvergeError, got ${String(e)}`);
    assert.equal(e.message.split('\n').length, 1, 'one line');
    return e;
  }
  assert.fail('accepted');
}

const moduleSpec = (text: string, set: string[] = []) => loadSpecAsync(writeSpec(dir, 'm.yaml', text), set);
const commandSpec = (text: string) => parseSpec(text, join(dir, 'c.yaml'));

describe('a module trainer sweep', () => {
  it('resolves the module against the sweep file folder and merges its exported declarations with the file (the file wins per name)', async () => {
    const s = await moduleSpec(MODULE('params_note: x').replace('params_note: x', '').replace('  learning_rate:', '  epochs: {type: integer, default: 7}\n  learning_rate:'));
    assert.deepEqual(s.trainer, { kind: 'module', module: join(dir, 'xor.mjs'), written: './xor.mjs' });
    assert.deepEqual(userParamsOf(s), ['activation', 'epochs', 'hidden', 'learning_rate']);
    assert.deepEqual(s.declared.epochs, { type: 'integer', default: 7 });
    assert.deepEqual(s.declared.hidden, { type: 'integer', default: 2, min: 1, doc: 'hidden units' });
    assert.deepEqual(s.base, { activation: 'sigmoid', epochs: 7, hidden: 2, learning_rate: 0.5 });
    assert.deepEqual(s.grid, { hidden: [2, 3] });
    assert.deepEqual(s.metrics, { loss: 'below', accuracy: 'above' });
    assert.deepEqual(s.converged, { metric: 'loss', threshold: 0.05, direction: 'below', at: 'last' });
  });

  it('a threshold: rule takes the direction the module exports for its metric', async () => {
    const s = await moduleSpec(MODULE().replace('converged: {metric: loss, below: 0.05}', 'converged: {metric: accuracy, threshold: 0.9, at: best}'));
    assert.deepEqual(s.converged, { metric: 'accuracy', threshold: 0.9, direction: 'above', at: 'best' });
  });

  it('a threshold: rule on a metric the module gives no direction is refused, saying to write below: or above:', async () => {
    const e = await refusalAsync(() => moduleSpec(MODULE().replace('converged: {metric: loss, below: 0.05}', 'converged: {metric: val_loss, threshold: 0.1}')));
    assert.equal(e.code, 'spec.ruleDirection');
    assert.match(e.message, /^.*m\.yaml:9: converged\.threshold: the module exports no direction for "val_loss" .*write below: 0\.1 or above: 0\.1 instead$/);
  });

  it('a module that does not exist is refused at trainer.module with its line', async () => {
    const e = await refusalAsync(() => moduleSpec(MODULE().replace('./xor.mjs', './nope.mjs')));
    assert.equal(e.code, 'spec.moduleNotFound');
    assert.match(e.message, /m\.yaml:2: trainer\.module: no file at .*nope\.mjs/);
  });

  it('a module that exports no train function is refused, listing what it exports', async () => {
    const e = await refusalAsync(() => moduleSpec(MODULE().replace('./xor.mjs', './no-train.mjs').replace('hidden: [2, 3]', 'learning_rate: [0.5, 1]')));
    assert.equal(e.code, 'spec.badModule');
    assert.match(e.message, /m\.yaml:2: trainer\.module: .*no-train\.mjs exports no train function \(it exports (fit, params|params, fit)\); export async function train\(params, ctx\)$/);
  });

  it('exported metric directions other than below/above are refused', async () => {
    const e = await refusalAsync(() => moduleSpec(MODULE().replace('./xor.mjs', './bad-metrics.mjs').replace('hidden: [2, 3]', 'learning_rate: [0.5, 1]')));
    assert.equal(e.code, 'spec.badModule');
    assert.match(e.message, /exported metrics\.loss: expected 'below' or 'above'/);
  });

  it('without its exports (sync parseSpec), only the file declarations are known; resolveTrainer adds the module', async () => {
    const text = MODULE().replace('hidden: [2, 3]', 'learning_rate: [0.5, 1]');
    const sync = parseSpec(text, join(dir, 'm.yaml'));
    assert.deepEqual(Object.keys(sync.declared).sort(), ['activation', 'learning_rate']);
    const resolved = await resolveTrainer(sync);
    assert.deepEqual(Object.keys(resolved.declared).sort(), ['activation', 'epochs', 'hidden', 'learning_rate']);
    assert.equal(resolved.source.hash, sync.source.hash);
    const e = refusal(() => parseSpec(MODULE(), join(dir, 'm.yaml')));
    assert.equal(e.code, 'spec.unknownKey');
  });

  it('an unknown grid name is refused with file:line and a did-you-mean over the declared names', async () => {
    const e = await refusalAsync(() => moduleSpec(MODULE().replace('  hidden: [2, 3]', '  hiden: [2, 3]')));
    assert.equal(e.code, 'spec.unknownKey');
    assert.match(e.message, /m\.yaml:7: grid: "hiden" is not a declared parameter \(did you mean "hidden"\?\); declared: activation, epochs, hidden, learning_rate$/);
  });

  it('grid values are checked against the declaration: type, bounds and allowed values', async () => {
    let e = await refusalAsync(() => moduleSpec(MODULE().replace('hidden: [2, 3]', 'hidden: [2, 0]')));
    assert.match(e.message, /m\.yaml:7: grid\.hidden\[1\]: expected an integer >= 1, got 0$/);
    e = await refusalAsync(() => moduleSpec(MODULE().replace('hidden: [2, 3]', 'hidden: [2, 2.5]')));
    assert.match(e.message, /grid\.hidden\[1\]: expected an integer >= 1, got 2\.5$/);
    e = await refusalAsync(() => moduleSpec(MODULE().replace('hidden: [2, 3]', 'activation: [tanh, relu]')));
    assert.match(e.message, /m\.yaml:7: grid\.activation\[1\]: expected one of "sigmoid", "tanh", got "relu"$/);
    e = await refusalAsync(() => moduleSpec(MODULE().replace('hidden: [2, 3]', 'learning_rate: [fast]')));
    assert.match(e.message, /grid\.learning_rate\[0\]: expected a number >= 0, got "fast"$/);
  });

  it('--set reaches declared parameters and is checked the same way, naming the --set', async () => {
    const s = await moduleSpec(MODULE(), ['grid.hidden=[4,5,6]']);
    assert.deepEqual(s.grid, { hidden: [4, 5, 6] });
    const e = await refusalAsync(() => moduleSpec(MODULE(), ['grid.hidden=[4,-1]']));
    assert.equal(e.message, '--set grid.hidden=[4,-1]: grid.hidden[1]: expected an integer >= 1, got -1');
    const e2 = await refusalAsync(() => moduleSpec(MODULE(), ['grid.hiddn=[4]']));
    assert.match(e2.message, /^--set grid\.hiddn=\[4\]: grid: "hiddn" is not a declared parameter \(did you mean "hidden"\?\)/);
  });

  it('a declared parameter at the top level (or --set at the top level) says where its values go', async () => {
    const e = await refusalAsync(() => moduleSpec(MODULE('hidden: 4')));
    assert.match(e.message, /m\.yaml:10: hidden is a declared parameter: give its value as params\.hidden\.default, or several under grid:/);
    const s = await moduleSpec(MODULE(), ['params.learning_rate.default=0.25']);
    assert.equal(s.base.learning_rate, 0.25);
  });

  it('cases name declared parameters too, and may not repeat a grid axis', async () => {
    const s = await moduleSpec(MODULE('cases:\n  - {learning_rate: 1, activation: tanh}\n  - {learning_rate: 2}'));
    assert.deepEqual(s.cases, [{ learning_rate: 1, activation: 'tanh' }, { learning_rate: 2 }]);
    const e = await refusalAsync(() => moduleSpec(MODULE('cases:\n  - {hidden: 4}')));
    assert.equal(e.code, 'spec.conflict');
    const e2 = await refusalAsync(() => moduleSpec(MODULE('cases:\n  - {lr: 4}')));
    assert.match(e2.message, /m\.yaml:11: cases\[0\]: "lr" is not a declared parameter/);
  });

  for (const key of ['data', 'model', 'train', 'engine']) {
    it(`${key}: is refused for a user trainer in one line that says to declare under params:`, async () => {
      const e = await refusalAsync(() => moduleSpec(MODULE(`${key}: ${key === 'engine' ? 'fused' : '{epochs: 3}'}`)));
      assert.equal(e.code, 'spec.builtinOnly');
      assert.match(e.message, new RegExp(`m\\.yaml:10: ${key}: belongs to the built-in trainer; your trainer's parameters are declared under params:`));
    });
  }

  it('a declared parameter without a default that no cell sets is refused at its declaration', async () => {
    const e = await refusalAsync(() => moduleSpec(MODULE().replace('  learning_rate: {type: number, default: 0.5, min: 0}', '  learning_rate: {type: number, min: 0}')));
    assert.equal(e.code, 'spec.missingParam');
    assert.match(e.message, /m\.yaml:4: params\.learning_rate: has no default, and no grid axis or case sets it/);
    const s = await moduleSpec(MODULE('cases:\n  - {learning_rate: 1}').replace('  learning_rate: {type: number, default: 0.5, min: 0}', '  learning_rate: {type: number, min: 0}'));
    assert.deepEqual(s.cases, [{ learning_rate: 1 }]);
  });

  it('a declaration that contradicts itself is refused (default out of bounds, min above max, bounds on a string)', async () => {
    let e = await refusalAsync(() => moduleSpec(MODULE().replace('default: 0.5, min: 0', 'default: -1, min: 0')));
    assert.match(e.message, /m\.yaml:4: params\.learning_rate: default: expected a number >= 0, got -1$/);
    e = await refusalAsync(() => moduleSpec(MODULE().replace('default: 0.5, min: 0', 'min: 2, max: 1, default: 1.5')));
    assert.match(e.message, /params\.learning_rate: min 2 is above max 1$/);
    e = await refusalAsync(() => moduleSpec(MODULE().replace('values: [sigmoid, tanh]', 'min: 1, values: [sigmoid, tanh]')));
    assert.match(e.message, /params\.activation: min\/max bound numbers; a string parameter has none$/);
    e = await refusalAsync(() => moduleSpec(MODULE().replace('  learning_rate: {', '  seed: {type: integer, default: 1}\n  learning_rate: {')));
    assert.match(e.message, /params\.seed: "seed" is the run's own value/);
  });

  it('an unknown key in a declaration gets a did-you-mean', async () => {
    const e = await refusalAsync(() => moduleSpec(MODULE().replace('default: 0.5, min: 0', 'defualt: 0.5, min: 0')));
    assert.equal(e.code, 'spec.unknownKey');
    assert.match(e.message, /m\.yaml:4: params\.learning_rate: unknown key "defualt" \(did you mean "default"\?\)/);
  });

  it('search runs along a declared integer parameter, counting all runs; among: alive and a non-integer axis are refused', async () => {
    const text = MODULE('search: {axis: hidden, range: [1, 8]}').replace('grid:\n  hidden: [2, 3]\n', 'grid:\n  learning_rate: [0.5, 1]\n');
    const s = await moduleSpec(text);
    assert.equal(s.search?.axis, 'hidden');
    assert.equal(s.search?.among, 'all');
    let e = await refusalAsync(() => moduleSpec(text.replace('range: [1, 8]', 'range: [1, 8], among: alive')));
    assert.match(e.message, /search\.among: alive counts runs alive at initialisation, which only the built-in trainer measures/);
    e = await refusalAsync(() => moduleSpec(text.replace('axis: hidden', 'axis: learning_rate').replace('  learning_rate: [0.5, 1]\n', '  hidden: [2]\n')));
    assert.match(e.message, /search\.axis: "learning_rate" is a number parameter; a search runs along a declared integer parameter: epochs, hidden$/);
    e = await refusalAsync(() => moduleSpec(text.replace('axis: hidden', 'axis: hiddn')));
    assert.match(e.message, /search\.axis: "hiddn" is not a declared parameter \(did you mean "hidden"\?\)/);
  });

  it('a user rule needs exactly one of below, above, threshold', async () => {
    let e = await refusalAsync(() => moduleSpec(MODULE().replace('below: 0.05', 'at: last')));
    assert.match(e.message, /m\.yaml:9: converged: no threshold: write below: x .* or above: x/);
    e = await refusalAsync(() => moduleSpec(MODULE().replace('below: 0.05', 'below: 0.05, above: 0.01')));
    assert.match(e.message, /converged: give one of below, above, not 2/);
    e = await refusalAsync(() => moduleSpec(MODULE().replace('converged: {metric: loss, below: 0.05}', '')));
    assert.equal(e.code, 'spec.noRule');
  });

  it('compare: entries name declared parameters', async () => {
    const s = await moduleSpec(MODULE('compare: ["hidden=2 vs hidden=3"]'));
    assert.deepEqual(s.compare, ['hidden=2 vs hidden=3']);
    const e = await refusalAsync(() => moduleSpec(MODULE('compare: ["units=2 vs units=3"]')));
    assert.match(e.message, /compare\[0\]: "units=2 vs units=3": "units" is not a setting/);
  });

  it('adaptive repeats work as for the built-in trainer', async () => {
    const s = await moduleSpec(MODULE().replace('repeats: 2', 'repeats: {min: 4, max: 20, until: {ci_width: 0.3}}'));
    assert.equal(s.repeats, 4);
    assert.deepEqual(s.adaptive, { min: 4, max: 20, until: { ciWidth: 0.3 } });
    const e = await refusalAsync(() => moduleSpec(MODULE().replace('repeats: 2', 'repeats: {min: 4, max: 2, until: {ci_width: 0.3}}')));
    assert.match(e.message, /repeats\.max: expected at least min \(4\), got 2$/);
  });

  it('devices: are kept as strings, and do not change the spec hash', async () => {
    const a = await moduleSpec(MODULE());
    const b = await moduleSpec(MODULE('devices: [0, 1, cuda:2]'));
    assert.deepEqual(b.devices, ['0', '1', 'cuda:2']);
    assert.equal(a.devices, undefined);
    assert.equal(a.source.hash, b.source.hash);
  });

  it('diffSpecs names a change of a user sweep key by its path', async () => {
    const a = await moduleSpec(MODULE());
    const b = await moduleSpec(MODULE().replace('hidden: [2, 3]', 'hidden: [2, 3, 4]').replace('below: 0.05', 'below: 0.01'));
    assert.deepEqual(diffSpecs(a, b), ['grid.hidden: [2,3] → [2,3,4]', 'converged.below: 0.05 → 0.01']);
  });
});

describe('a command trainer sweep', () => {
  it('keeps the argv template, runs in the sweep folder, and takes grace: in seconds', () => {
    const s = commandSpec(COMMAND());
    assert.deepEqual(s.trainer, { kind: 'command', command: ['python3', 'train.py', '--lr', '{learning_rate}', '--seed', '{seed}'], cwd: dir });
    assert.equal(s.grace, 2);
    assert.deepEqual(s.converged, { metric: 'accuracy', threshold: 0.99, direction: 'above', at: 'best' });
    assert.deepEqual(s.metrics, {});
  });

  it('a placeholder naming an undeclared parameter is refused at its argument, with a did-you-mean', () => {
    const e = refusal(() => commandSpec(COMMAND('[python3, train.py, --lr, "{learnig_rate}"]')));
    assert.equal(e.code, 'spec.unknownPlaceholder');
    assert.match(e.message, /c\.yaml:2: trainer\.command\[3\]: "\{learnig_rate\}" names no declared parameter \(did you mean "\{learning_rate\}"\?\)/);
  });

  it('a command argument YAML reads as another type is refused at that argument, not as a module trainer lacking module:', () => {
    const e = refusal(() => commandSpec(COMMAND('[true]')));
    assert.match(e.message, /c\.yaml:2: trainer\.command\[0\]: expected string, got true/);
  });

  it('a program not on PATH is refused before anything runs', () => {
    const e = refusal(() => commandSpec(COMMAND('[no-such-program-xyz, train.py]')));
    assert.equal(e.code, 'spec.programNotFound');
    assert.match(e.message, /c\.yaml:2: trainer\.command\[0\]: cannot run "no-such-program-xyz": it is not on PATH/);
  });

  it('a threshold: rule is refused (a command has no metric directions)', () => {
    const e = refusal(() => commandSpec(COMMAND().replace('above: 0.99', 'threshold: 0.99')));
    assert.match(e.message, /converged\.threshold: a command trainer has no metric directions; write below: 0\.99 or above: 0\.99 instead$/);
  });

  it('a trainer: mapping with an unknown key is refused with a did-you-mean', () => {
    const e = refusal(() => commandSpec(COMMAND().replace('grace: 2', 'grac: 2')));
    assert.equal(e.code, 'spec.unknownKey');
    assert.match(e.message, /c\.yaml:2: trainer: unknown key "grac" \(did you mean "grace"\?\)/);
    const e2 = refusal(() => commandSpec('name: x\ntrainer: lstm\n'));
    assert.match(e2.message, /x?c\.yaml:2: trainer: expected builtin, \{module: \.\/trainer\.mjs\} or \{command: \[program, args…\]\}, got "lstm"$/);
  });
});

describe('the built-in trainer with the new keys', () => {
  const BUILTIN = 'name: t\ndata: {seq_len: 10, n_samples: 5}\n';

  it('trainer: builtin is the same sweep as no trainer: key (same spec hash)', () => {
    assert.equal(parseSpec(`${BUILTIN}trainer: builtin\n`, 'x.yaml').source.hash, parseSpec(BUILTIN, 'x.yaml').source.hash);
    assert.deepEqual(parseSpec(`${BUILTIN}trainer: builtin\n`, 'x.yaml').trainer, { kind: 'builtin' });
    assert.deepEqual(userParamsOf(parseSpec(BUILTIN, 'x.yaml')), []);
  });

  it('a rule without a threshold hashes as it did when the threshold was a schema default', () => {
    const a = parseSpec(`${BUILTIN}converged: {metric: val_mae}\n`, 'x.yaml');
    const b = parseSpec(`${BUILTIN}converged: {metric: val_mae, threshold: 0.05}\n`, 'x.yaml');
    assert.equal(a.source.hash, b.source.hash);
    assert.deepEqual(a.converged, { metric: 'val_mae', threshold: 0.05 });
  });

  it('below: is the built-in threshold; above: and both below and threshold are refused', () => {
    assert.deepEqual(parseSpec(`${BUILTIN}converged: {metric: pop_mae, below: 0.1}\n`, 'x.yaml').converged, { metric: 'pop_mae', threshold: 0.1 });
    let e = refusal(() => parseSpec(`${BUILTIN}converged: {metric: pop_mae, above: 0.1}\n`, 'x.yaml'));
    assert.match(e.message, /^x\.yaml:3: converged\.above: the built-in trainer's metrics are errors \(lower is better\)/);
    e = refusal(() => parseSpec(`${BUILTIN}converged: {metric: pop_mae, below: 0.1, threshold: 0.1}\n`, 'x.yaml'));
    assert.equal(e.code, 'spec.conflict');
  });

  it('at: best is kept on a built-in rule; at: last is what no at: means', () => {
    assert.deepEqual(parseSpec(`${BUILTIN}converged: {metric: pop_mae, at: best}\n`, 'x.yaml').converged, { metric: 'pop_mae', threshold: 0.05, at: 'best' });
    assert.deepEqual(parseSpec(`${BUILTIN}converged: {metric: pop_mae, at: last}\n`, 'x.yaml').converged, { metric: 'pop_mae', threshold: 0.05 });
  });

  it('params: on a built-in sweep says what it is for', () => {
    const e = refusal(() => parseSpec(`${BUILTIN}params: {h: {type: integer}}\n`, 'x.yaml'));
    assert.match(e.message, /^x\.yaml:3: params: declares the parameters of your own trainer/);
  });

  it('devices: is accepted and kept as strings', () => {
    assert.deepEqual(parseSpec(`${BUILTIN}devices: [0, 1]\n`, 'x.yaml').devices, ['0', '1']);
  });

  it('parseSpecAsync parses a built-in sweep exactly as parseSpec does', async () => {
    const a = await parseSpecAsync(BUILTIN, 'x.yaml', { overrides: [parseOverride('train.epochs=3')] });
    const b = parseSpec(BUILTIN, 'x.yaml', { overrides: [parseOverride('train.epochs=3')] });
    assert.deepEqual({ ...a, lineOf: null }, { ...b, lineOf: null });
  });
});
