import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkArgv, expandArgv, formatCommandLine, placeholdersOf, renderValue } from '../../src/trainer';

const RUN = { seed: 7, runId: 'r-12', runDir: '/tmp/runs/r-12' };

describe('command argv placeholders', () => {
  it('placeholders are replaced by typed values: integers without .0, booleans as true/false, strings as written', () => {
    const argv = ['python3', 'train.py', '--hidden', '{hidden}', '--lr={learning_rate}', '--amsgrad', '{amsgrad}', '--opt', '{optimizer}', '--seed', '{seed}'];
    const params = { hidden: 3, learning_rate: 0.001, amsgrad: false, optimizer: 'adam' };
    checkArgv(argv, Object.keys(params));
    assert.deepEqual(expandArgv(argv, params, RUN), ['python3', 'train.py', '--hidden', '3', '--lr=0.001', '--amsgrad', 'false', '--opt', 'adam', '--seed', '7']);
  });

  it('run_id and run_dir are always available, also inside a longer argument', () => {
    assert.deepEqual(expandArgv(['--out={run_dir}/model.pt', 'run-{run_id}-s{seed}'], {}, RUN), ['--out=/tmp/runs/r-12/model.pt', 'run-r-12-s7']);
  });

  it('a value with spaces or shell characters stays one argument (no shell is involved)', () => {
    assert.deepEqual(expandArgv(['--name', '{name}'], { name: 'a b; rm -rf $HOME' }, RUN), ['--name', 'a b; rm -rf $HOME']);
  });

  it('{{ and }} write literal braces, and braces around anything but a name stay as written', () => {
    const argv = ['{{seed}}', '--json', '{"a": 1}', '{x-y}', '{}'];
    checkArgv(argv, []);
    assert.deepEqual(placeholdersOf('{{seed}}'), []);
    assert.deepEqual(expandArgv(argv, {}, RUN), ['{seed}', '--json', '{"a": 1}', '{x-y}', '{}']);
  });

  it('numbers keep their exact value in the shortest form a float parser reads back', () => {
    assert.equal(renderValue(1e-7), '1e-7');
    assert.equal(renderValue(0.1), '0.1');
    assert.equal(renderValue(2.5), '2.5');
    assert.equal(renderValue(-4), '-4');
    assert.equal(renderValue(1e21), '1000000000000000000000');
    assert.equal(renderValue(true), 'true');
    assert.throws(() => renderValue(Number.NaN), { name: 'ConvergeError', code: 'spec.invalid' });
  });

  it('a placeholder naming an undeclared parameter is refused in one line with the declared names and a did-you-mean', () => {
    assert.throws(() => checkArgv(['python3', 'train.py', '--lr', '{learnig_rate}'], ['learning_rate', 'hidden'], (i) => `sweep.yaml:4: trainer.command[${i}]`), {
      name: 'ConvergeError',
      code: 'spec.unknownPlaceholder',
      exitCode: 2,
      message:
        'sweep.yaml:4: trainer.command[3]: "{learnig_rate}" names no declared parameter (did you mean "{learning_rate}"?); declared: hidden, learning_rate; always available: seed, run_id, run_dir',
    });
  });

  it('a placeholder with nothing close is refused without a guess, and says when nothing is declared', () => {
    assert.throws(() => checkArgv(['train', '{momentum}'], []), {
      message: 'trainer.command[1]: "{momentum}" names no declared parameter; no parameters are declared; always available: seed, run_id, run_dir',
    });
  });

  it('an empty command is refused', () => {
    assert.throws(() => checkArgv([], []), { code: 'spec.invalid', message: 'trainer.command: expected a program and its arguments, got an empty list' });
  });

  it('a command line is shown as a POSIX shell would need it to be pasted', () => {
    assert.equal(formatCommandLine(['python3', 'train.py', '--lr', '0.001', '--name', "it's a b", '']), `python3 train.py --lr 0.001 --name 'it'\\''s a b' ''`);
  });
});
