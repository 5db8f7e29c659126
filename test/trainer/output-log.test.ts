import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ByteTail, CappedLog } from '../../src/trainer/output-log';
import { tempDir } from '../helpers';

describe('a run\'s output log and tails', () => {
  it('the log keeps output up to its cap, marks the cut and counts what it dropped', () => {
    const path = join(tempDir('i18-command-'), 'output.log');
    const log = new CappedLog(path, 10);
    log.write(Buffer.from('0123456'));
    log.write(Buffer.from('789abc'));
    log.write(Buffer.from('def'));
    log.close();
    assert.equal(log.totalBytes, 16);
    assert.equal(log.cut, true);
    assert.equal(
      readFileSync(path, 'utf8'),
      '0123456789\n[converge: the log is cut here, at 10 bytes; the rest of the output is counted, not kept]\n\n[converge: 6 bytes of output after the cut were not kept (16 in all)]\n',
    );
  });

  it('a tail keeps the last bytes, starting on a whole character, and gives the last lines', () => {
    const tail = new ByteTail(8);
    tail.push(Buffer.from('line one\nline two\n'));
    tail.push(Buffer.from('é3\n'));
    assert.equal(tail.text(), 'two\né3\n'); // é is 2 bytes
    const cut = new ByteTail(3);
    cut.push(Buffer.from('aé€')); // é is 2 bytes, € is 3: the last 3 bytes are exactly €
    assert.equal(cut.text(), '€');
    const mid = new ByteTail(3);
    mid.push(Buffer.from('€b')); // the last 3 bytes start inside €: its 2 leftover bytes are skipped
    assert.equal(mid.text(), 'b');
    const lines = new ByteTail(100);
    lines.push(Buffer.from('1\n2\n3\n4\n'));
    assert.equal(lines.lastLines(2), '3\n4');
  });
});
