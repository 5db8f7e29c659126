import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LineSplitter } from '../../src/trainer/lines';

function split(chunks: (string | Buffer)[], options: ConstructorParameters<typeof LineSplitter>[1] = {}) {
  const lines: [string, number, boolean][] = [];
  const s = new LineSplitter((line, n, cut) => lines.push([line, n, cut]), options);
  for (const c of chunks) s.push(c);
  s.end();
  return lines;
}

describe('splitting output into lines', () => {
  it('a line or a UTF-8 character split across chunks is joined, CRLF endings are dropped, the last line needs no newline', () => {
    const euro = Buffer.from('€');
    assert.deepEqual(split([Buffer.from('a'), Buffer.from('b\r'), Buffer.from('\nc'), euro.subarray(0, 1), euro.subarray(1), Buffer.from('\nlast')]), [
      ['ab', 1, false],
      ['c€', 2, false],
      ['last', 3, false],
    ]);
  });

  it('with carriage returns overwriting, only the last redraw of a line is kept, also across chunks', () => {
    assert.deepEqual(split(['10%\r20%', '\r', '100% done\r\n', 'next\n'], { carriageReturnOverwrites: true }), [
      ['100% done', 1, false],
      ['next', 2, false],
    ]);
  });

  it('a line longer than the limit keeps its head and is marked cut; the next line is whole', () => {
    assert.deepEqual(split(['x'.repeat(5), 'y'.repeat(5), '\nok\n'], { maxLineChars: 8 }), [
      ['xxxxxyyy', 1, true],
      ['ok', 2, false],
    ]);
  });
});
