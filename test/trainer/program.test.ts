import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { checkProgram, findProgram } from '../../src/trainer';
import { tempDir } from '../helpers';

function project() {
  const dir = tempDir('i18-command-');
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'train'), '#!/bin/sh\n');
  chmodSync(join(dir, 'bin', 'train'), 0o755);
  writeFileSync(join(dir, 'bin', 'notes.txt'), 'not executable');
  return dir;
}

describe('finding a command\'s program', () => {
  it('a bare name is looked up in PATH, a name with a slash relative to the working directory', () => {
    const dir = project();
    assert.equal(findProgram('train', { cwd: '/', env: { PATH: `/nonexistent:${join(dir, 'bin')}` } }), join(dir, 'bin', 'train'));
    assert.equal(findProgram('./bin/train', { cwd: dir }), join(dir, 'bin', 'train'));
    assert.equal(findProgram('sh', { cwd: dir })?.endsWith('/sh'), true);
  });

  it('a file that is not executable, or a folder, is not a program', () => {
    const dir = project();
    assert.equal(findProgram('./bin/notes.txt', { cwd: dir }), undefined);
    assert.equal(findProgram('bin', { cwd: '/', env: { PATH: dir } }), undefined);
  });

  it('a program that is not on PATH is refused in one line that says where it was written', () => {
    assert.throws(() => checkProgram('pyhton3', { cwd: '/', env: { PATH: '/nonexistent' }, where: 'sweep.yaml:3: trainer.command[0]' }), {
      name: 'ConvergeError',
      code: 'spec.programNotFound',
      exitCode: 2,
      message: 'sweep.yaml:3: trainer.command[0]: cannot run "pyhton3": it is not on PATH; install it, or give its path',
    });
    assert.throws(() => checkProgram('./train.sh', { cwd: '/work/none' }), { message: 'cannot run "./train.sh": no executable file at /work/none/train.sh; install it, or give its path' });
  });
});
