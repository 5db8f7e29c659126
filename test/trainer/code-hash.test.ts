import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { commandScript, hashCommandScript, hashFile } from '../../src/trainer';
import { tempDir } from '../helpers';

function project() {
  const dir = tempDir('i18-command-');
  writeFileSync(join(dir, 'train.py'), 'print("v1")\n');
  writeFileSync(join(dir, 'data.csv'), '1,2\n');
  mkdirSync(join(dir, 'bin'));
  writeFileSync(join(dir, 'bin', 'train.sh'), '#!/bin/sh\n');
  mkdirSync(join(dir, '.venv', 'bin'), { recursive: true });
  writeFileSync(join(dir, '.venv', 'bin', 'python'), '\x7fELF not a script');
  return dir;
}

describe('which code trained a run', () => {
  it('a command\'s script is its first argument that is an existing file, hashed by content', () => {
    const dir = project();
    assert.equal(commandScript(['python3', '-u', 'train.py', '--data', 'data.csv'], dir), join(dir, 'train.py'));
    assert.deepEqual(hashCommandScript(['python3', 'train.py'], dir), { path: join(dir, 'train.py'), hash: `sha256:${createHash('sha256').update('print("v1")\n').digest('hex')}` });
  });

  it('the program counts when it is a script relative to the working directory, not when it is an interpreter', () => {
    const dir = project();
    assert.equal(commandScript(['./bin/train.sh', '--data', 'data.csv'], dir), join(dir, 'bin', 'train.sh'));
    assert.equal(commandScript(['.venv/bin/python', 'train.py'], dir), join(dir, 'train.py'));
    assert.equal(commandScript([process.execPath, 'train.py'], dir), join(dir, 'train.py'));
  });

  it('no file argument means no script (python3 -m pkg), and placeholder arguments are never taken for one', () => {
    const dir = project();
    assert.equal(commandScript(['python3', '-m', 'pkg.train'], dir), undefined);
    assert.equal(hashCommandScript(['python3', '-m', 'pkg.train'], dir), undefined);
    writeFileSync(join(dir, '{run_dir}'), 'not a script');
    assert.equal(commandScript(['python3', '{run_dir}', 'train.py'], dir), join(dir, 'train.py'));
  });

  it('an edited script gets a different hash', () => {
    const dir = project();
    const before = hashFile(join(dir, 'train.py')).hash;
    writeFileSync(join(dir, 'train.py'), 'print("v2")\n');
    assert.notEqual(hashFile(join(dir, 'train.py')).hash, before);
  });
});
