import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, tempDir, writeSpec } from '../helpers';

const SPEC = (metric: string) => `name: thin
repeats: 2
train:
  epochs: 2
grid:
  seq_len: [120]
  n_samples: [10, 99, 100]
converged: {metric: ${metric}, threshold: 0.05}
`;

describe('thin validation sets', () => {
  it('plan warns per cell when the rule is a validation metric on fewer than 10 validation rows', () => {
    const dir = tempDir();
    const val = runCli(['plan', writeSpec(dir, 'v.yaml', SPEC('val_mae'))]);
    assert.equal(val.code, 0, val.stderr);
    const lines = val.stderr.trim().split('\n');
    // floor(0.1 * N): 1 row at N = 10, 9 at N = 99, 10 at N = 100 (enough).
    assert.equal(lines.length, 2, val.stderr);
    assert.match(lines[0]!, /n_samples=10 .*val_mae rests on 1 validation row \(fewer than 10\)/);
    assert.match(lines[1]!, /n_samples=99 .*rests on 9 validation rows/);
    const json = runCli(['plan', join(dir, 'v.yaml'), '--json']);
    assert.equal((JSON.parse(json.stdout) as { warnings: string[] }).warnings.length, 2);
    const pop = runCli(['plan', writeSpec(dir, 'p.yaml', SPEC('pop_mae'))]);
    assert.equal(pop.stderr, '');
  });

  it('report warns the same way for the rule it scores with', () => {
    const dir = tempDir();
    const db = join(dir, 't.db');
    assert.equal(runCli(['run', writeSpec(dir, 't.yaml', SPEC('pop_mae')), '--db', db, '--workers', '1', '--quiet']).code, 0);
    assert.doesNotMatch(runCli(['report', db]).stderr, /validation row/);
    const r = runCli(['report', db, '--metric', 'val_loss']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.match(/val_loss rests on \d validation rows?/g)?.length, 2, r.stderr);
  });
});
