import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { expandArgv, runCommand } from '../../src/trainer';
import { ROOT, tempDir } from '../helpers';
import { PYTHON } from '../trainer/python';

const DIR = join(ROOT, 'examples', 'keras-replay');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'keras-verbose2.log');

/**
 * The fixture's epochs read here on their own, not with src/trainer/keras-log.ts: an `Epoch k/n`
 * line, then ` - <s>s - name: value - name: value…`.
 */
function epochsOfLog(text: string): { epoch: number; metrics: Record<string, number> }[] {
  const out: { epoch: number; metrics: Record<string, number> }[] = [];
  let epoch: number | undefined;
  for (const line of text.split('\n')) {
    const header = /^Epoch (\d+)\/\d+$/.exec(line);
    if (header) {
      epoch = Number(header[1]);
      continue;
    }
    const body = /^ - \d+s - (.*)$/.exec(line);
    if (body && epoch !== undefined) {
      const metrics: Record<string, number> = {};
      for (const [, name, value] of body[1]!.matchAll(/(\w+): ([-+.\deE]+)/g)) metrics[name!] = Number(value);
      out.push({ epoch, metrics });
      epoch = undefined;
    }
  }
  return out;
}

describe('examples/keras-replay, a recorded Keras verbose=2 log replayed by a command', () => {
  it('the fixture holds 50 epochs of loss, mae, val_loss and val_mae, as its generator wrote them', () => {
    const epochs = epochsOfLog(readFileSync(FIXTURE, 'utf8'));
    assert.equal(epochs.length, 50);
    assert.deepEqual(Object.keys(epochs[0]!.metrics), ['loss', 'mae', 'val_loss', 'val_mae']);
    assert.ok(epochs.some((e) => Object.values(e.metrics).some((v) => v < 1e-3)), 'some values are in the %.4e form');
    const expected = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'keras-verbose2.expected.json'), 'utf8')) as unknown;
    assert.deepEqual(epochs, expected);
  });

  it("the sweep file's command, run through runCommand as a real python3 process, yields exactly the log's epochs and values", async () => {
    const spec = parse(readFileSync(join(DIR, 'sweep.yaml'), 'utf8')) as { trainer: { command: string[] } };
    const [program, ...rest] = spec.trainer.command;
    assert.equal(program, 'python3');
    const runDir = join(tempDir('i18-keras-replay-'), 'run');
    const params = { delay: 0 };
    const argv = expandArgv([PYTHON, ...rest], params, { seed: 1, runId: 'replay', runDir });
    const r = await runCommand({ argv, cwd: DIR, runDir, runId: 'replay', seed: 1, params });
    assert.equal(r.status, 'finished', r.error);
    assert.equal(r.badLines, 0);
    const text = readFileSync(FIXTURE, 'utf8');
    assert.deepEqual(r.epochs, epochsOfLog(text));
    // The whole output is kept beside the run, byte for byte.
    assert.equal(readFileSync(r.logPath, 'utf8'), text);
  });
});
