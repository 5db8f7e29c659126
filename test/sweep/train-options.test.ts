import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { convergeSync, sandbox } from '../reliability/harness';

const SPEC = `name: opts\nseed: 1\nrepeats: 1\ntrain: {epochs: 2}\ngrid: {seq_len: [20], n_samples: [10]}\n`;

describe('the options of user trainers on run', () => {
  it('--devices with the built-in trainer is refused with usage.devices, exit 2, before the database is made', (t) => {
    const dir = sandbox(t);
    writeFileSync(join(dir, 'sweep.yaml'), SPEC);
    const r = convergeSync(dir, ['run', 'sweep.yaml', '--db', 'x.db', '--devices', '0,1']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--devices \(or devices:\) is for module and command trainers.*\[usage\.devices\]/);
    assert.equal(existsSync(join(dir, 'x.db')), false);
  });

  it('a device named twice, an empty device and a negative --grace are refused with one line each', (t) => {
    const dir = sandbox(t);
    writeFileSync(join(dir, 'sweep.yaml'), SPEC);
    for (const [args, message] of [
      [['--devices', '0,0'], /--devices names "0" twice/],
      [['--devices', '0,,1'], /--devices must be a comma-separated list/],
      [['--grace', '-1'], /--grace must be a number of seconds \(0 or more\), got "-1"/],
      [['--breaker', 'x'], /--breaker must be a non-negative integer/],
    ] as const) {
      const r = convergeSync(dir, ['run', 'sweep.yaml', '--db', 'x.db', ...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1);
    }
  });
});
