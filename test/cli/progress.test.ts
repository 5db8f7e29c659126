import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { formatProgressLine, type BarState } from '../../src/cli/progress';
import { CLI, converge, convergeSync, sandbox, writeSpec } from '../reliability/harness';

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

test('on an 80-column pseudo-terminal every frame of the bar fits in 80 columns and shows the ETA', { timeout: 90_000 }, (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'tty.yaml', ['name: tty', 'seed: 1', 'repeats: 4', 'data: {seq_len: 100, n_samples: 60}', 'train: {epochs: 20}', 'grid:', '  batch_size: [1, 2]', ''].join('\n'));
  // util-linux `script` gives the child a real pty (stderr.isTTY, 80 columns), as a terminal would.
  const cmd = `stty cols 80 rows 24; '${process.execPath}' '${CLI}' run tty.yaml --db tty.db --workers 2`;
  const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd: dir, encoding: 'utf8', timeout: 80_000, env: { ...process.env, CONVERGE_FAULT: '' } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  // eslint-disable-next-line no-control-regex
  const frames = r.stdout.split(/\x1b\[1G|\r|\n/).map((f) => f.replace(/\x1b(\[[0-9;?]*[A-Za-z]|[78])/g, '')).filter((f) => / runs · /.test(f));
  assert.ok(frames.length >= 2, `the bar was drawn (${frames.length} frames)`);
  for (const f of frames) {
    assert.ok([...f].length <= 80, `${[...f].length} columns: ${f}`);
    assert.match(f, /^\[[█░]+\] \d+\/8 runs · ETA \S+/, f);
  }
  assert.match(frames[frames.length - 1]!, /8\/8 runs · ETA 0s/);
});

test("a plain run line shows the rule's metric at the scored epoch, the number its outcome was decided on", { timeout: 90_000 }, (t) => {
  const dir = sandbox(t);
  const spec = ['name: line', 'seed: 1', 'repeats: 2', 'data: {seq_len: 60, n_samples: 40}', 'train: {epochs: 5}'];
  for (const [file, rule, column] of [
    ['pop.yaml', [], 'final_pop_mae'],
    ['val.yaml', ['converged: {metric: val_loss, threshold: 0.05}'], 'final_val_loss'],
  ] as const) {
    writeSpec(dir, file, [...spec, ...rule, ''].join('\n'));
    const db = `${file}.db`;
    const r = convergeSync(dir, ['run', file, '--db', db, '--workers', '1']);
    assert.equal(r.code, 0, r.stderr);
    const metric = column.replace('final_', '');
    const lines = [...r.stdout.matchAll(new RegExp(`^\\[\\d+/2\\] .* seed=(\\d+): \\w+ ${metric}=(\\d+\\.\\d{4}) \\(`, 'gm'))];
    assert.equal(lines.length, 2, r.stdout);
    const stored = new Database(join(dir, db), { readonly: true });
    try {
      for (const [, seed, shown] of lines) {
        const value = stored.prepare(`SELECT ${column} FROM runs WHERE seed = ?`).pluck().get(Number(seed)) as number;
        assert.equal(shown, value.toFixed(4), `seed ${seed}: the line shows the stored ${metric}`);
      }
    } finally {
      stored.close();
    }
    assert.doesNotMatch(r.stdout, metric === 'pop_mae' ? /val_mae=/ : /pop_mae=/);
  }
});
