import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatProgressLine, type BarState } from '../../src/cli/progress';
import { converge, sandbox, writeSpec } from '../reliability/harness';

const big: BarState = { done: 123_456, total: 1_234_567, converged: 98_765, failed: 4_321, etaSeconds: 3 * 86400 + 7, elapsedSeconds: 40_000 };

test('the progress line fits the terminal width and always shows the ETA', () => {
  for (const width of [120, 80, 79, 60, 45, 36]) {
    const line = formatProgressLine(big, width);
    assert.ok(line.length <= width, `${line.length} > ${width}: ${line}`);
    assert.match(line, /123456\/1234567 runs · ETA 72h00m/, `width ${width}: ${line}`);
  }
  const at80 = formatProgressLine(big, 79);
  assert.match(at80, /^\[[█░]{10,30}\] /, 'the bar is there at 80 columns');
  assert.match(at80, /98765 converged/);
  const small = formatProgressLine({ done: 5, total: 20, converged: 2, failed: 0, etaSeconds: 75, elapsedSeconds: 25 }, 79);
  // The text takes 60 columns, the bar the 16 left of 79 (a quarter of it filled: 5 of 20).
  assert.equal(small, `[${'█'.repeat(4)}${'░'.repeat(12)}] 5/20 runs · ETA 1m15s · 2 converged · 0 failed · 25s elapsed`);
});

test('with two runners on one database, the run lines count the whole sweep, not each process', { timeout: 90_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'two.yaml', ['name: two', 'seed: 1', 'repeats: 4', 'data: {seq_len: 100, n_samples: 60}', 'train: {epochs: 20}', 'grid:', '  batch_size: [1, 2]', ''].join('\n'));
  const args = ['run', 'two.yaml', '--db', 'two.db', '--workers', '1'];
  const [a, b] = await Promise.all([converge(t, dir, args), converge(t, dir, args)]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  const counts = (out: string) => [...out.matchAll(/^\[(\d+)\/8\] /gm)].map((m) => Number(m[1]));
  const ca = counts(a.stdout);
  const cb = counts(b.stdout);
  assert.ok(ca.length > 0 && cb.length > 0, `both trained (${ca.length}, ${cb.length})`);
  assert.equal(ca.length + cb.length, 8);
  assert.equal(Math.max(...ca, ...cb), 8, 'the last run finished is counted as the 8th of the sweep by whichever process finished it');
});
