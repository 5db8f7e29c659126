import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli, tempDir, writeSpec } from '../helpers';

const dir = tempDir('converge-plan-user-');
after(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(
  join(dir, 'xor.mjs'),
  "export const params = { epochs: { type: 'integer', default: 2000, min: 1 } };\nexport const metrics = { loss: 'below' };\nexport async function train(params, ctx) {}\n",
);

const MODULE = [
  'name: xor',
  'trainer: {module: ./xor.mjs}',
  'params:',
  '  hidden: {type: integer, default: 2, min: 1}',
  '  learning_rate: {type: number, default: 0.5, min: 0}',
  'grid: {hidden: [2, 3, 4], learning_rate: [0.5, 2]}',
  'repeats: 20',
  'converged: {metric: loss, threshold: 0.05, at: best}',
  '',
].join('\n');

describe('converge plan on a user-trainer sweep', () => {
  it('prints one row per cell by declared parameter, the trainer, the rule and the fixed parameters', () => {
    const r = runCli(['plan', writeSpec(dir, 'xor.yaml', MODULE)], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], 'sweep xor: 6 cells × seeds = 120 runs, trained by the module ./xor.mjs');
    assert.equal(lines[1], 'rule: converged when loss < 0.05 at the best epoch; fixed: epochs=2000');
    assert.match(lines[2]!, /^hidden\s+learning_rate\s+runs$/);
    assert.deepEqual(lines.slice(4, 10).map((l) => l.split(/\s+/)), [
      ['2', '0.5', '20'],
      ['2', '2', '20'],
      ['3', '0.5', '20'],
      ['3', '2', '20'],
      ['4', '0.5', '20'],
      ['4', '2', '20'],
    ]);
  });

  it('--json gives every run with its declared parameters, and no time estimate', () => {
    const r = runCli(['plan', writeSpec(dir, 'xor.yaml', MODULE), '--json', '--set', 'grid.hidden=[5]'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout) as { trainer: string; run_count: number; estimated_seconds: null; runs: { params: Record<string, unknown> }[] };
    assert.equal(j.trainer, 'module');
    assert.equal(j.run_count, 40);
    assert.equal(j.estimated_seconds, null);
    assert.deepEqual(j.runs[0]!.params, { epochs: 2000, hidden: 5, learning_rate: 0.5 });
  });

  it('a search along a declared integer prints its boundaries and says its time is unknown', () => {
    const text = MODULE.replace('grid: {hidden: [2, 3, 4], learning_rate: [0.5, 2]}', 'grid: {learning_rate: [0.5, 2]}\nsearch: {axis: hidden, range: [1, 16]}').replace('repeats: 20', 'repeats: 4');
    const r = runCli(['plan', writeSpec(dir, 'search.yaml', text)], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^search xor: 2 boundaries along hidden \(rate 0\.5\)/);
    assert.match(r.stdout, /\nlearning_rate=0\.5 +\[1, 16\] /);
    assert.match(r.stdout, /estimated time: unknown/);
    const j = JSON.parse(runCli(['plan', join(dir, 'search.yaml'), '--json'], { cwd: dir }).stdout) as { axis: string; estimated_seconds_max: null };
    assert.deepEqual([j.axis, j.estimated_seconds_max], ['hidden', null]);
  });

  it('a bad --set value and a program not on PATH exit 2 with one line', () => {
    let r = runCli(['plan', writeSpec(dir, 'xor.yaml', MODULE), '--set', 'grid.hidden=[0]'], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim(), 'converge: --set grid.hidden=[0]: grid.hidden[0]: expected an integer >= 1, got 0 [spec.invalid]');
    const cmd = MODULE.replace('trainer: {module: ./xor.mjs}', 'trainer: {command: [no-such-program-h1, "{hidden}"]}').replace('threshold: 0.05', 'below: 0.05');
    r = runCli(['plan', writeSpec(dir, 'cmd.yaml', cmd)], { cwd: dir });
    assert.equal(r.code, 2);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(r.stderr, /cmd\.yaml:2: trainer\.command\[0\]: cannot run "no-such-program-h1": it is not on PATH/);
  });
});
