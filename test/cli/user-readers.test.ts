import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../helpers';
import { buildUserDb, type UserRunScript } from '../store/user-db';

/**
 * A module trainer's sweep over hidden ∈ {2, 3}, seeds 1–4, rule loss < 0.05 at the last epoch:
 * hidden=2 converges for seed 1 only and seed 4 never reports loss (no_metric); hidden=3
 * converges for every seed but 2, seed 3 fails, and seed 1 ran another version of the code.
 */
function script(p: Record<string, unknown>, seed: number): UserRunScript {
  if (seed === 4 && p.hidden === 2) return { epochs: [{ accuracy: 0.5 }, { accuracy: 0.5 }, { accuracy: 0.5 }] };
  if (seed === 3 && p.hidden === 3) return { epochs: [{ loss: 1 }], fails: 'Error: boom' };
  const conv = p.hidden === 3 ? seed !== 2 : seed === 1;
  return {
    epochs: [{ loss: 0.4, accuracy: 0.5 }, { loss: 0.2, accuracy: 0.75 }, { loss: conv ? 0.01 : 0.3, accuracy: conv ? 1 : 0.75 }],
    codeHash: p.hidden === 3 && seed === 1 ? 'bbbb2222' : 'aaaa1111',
  };
}

function ok(args: string[]): { stdout: string; stderr: string } {
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

describe("the readers on a user trainer's database", () => {
  const { dir, file } = buildUserDb(script);

  it('report labels cells by declared params, has no alive columns, and counts no_metric and failed runs outside n', () => {
    const { stdout, stderr } = ok(['report', file]);
    assert.match(stdout, /rule: a run converged when its loss is below 0\.05 at its last epoch/);
    assert.match(stdout, /trainer: module/);
    assert.doesNotMatch(stdout, /alive|dead|engine/);
    const lines = stdout.split('\n');
    const header = lines.find((l) => l.startsWith('hidden'))!;
    assert.deepEqual(header.split(/\s{2,}/), ['hidden', 'learning_rate', 'runs', 'converged', 'rate', '95% CI', 'median loss', 'median conv. epoch', 'diverged', 'no metric', 'failed']);
    assert.match(lines.find((l) => /^\s+2\s/.test(l))!, /^\s+2\s+0\.5\s+4\s+1\/3\s+0\.33 .*\s1\s+0$/);
    assert.match(lines.find((l) => /^\s+3\s/.test(l))!, /^\s+3\s+0\.5\s+4\s+2\/3\s+0\.67 .*\s0\s+1$/);
    const notes = stderr.trim().split('\n');
    assert.deepEqual(notes, [
      'hidden=2 learning_rate=0.5: 1 never reported loss (no_metric, not in n): run 4',
      'hidden=3 learning_rate=0.5: runs trained by 2 versions of the code (aaaa1111: 3 runs, bbbb2222: 1 run); compare them with `converge query <db> --sql "select code_hash, outcome, count(*) from runs group by 1, 2"`',
      'hidden=3 learning_rate=0.5: 1 failed (not in n): run 7; see `converge query <db> --where "status=failed"`',
    ]);
  });

  it('report json and csv carry the code versions, the no_metric runs and a budget curve by epoch, without alive fields', () => {
    const cells = JSON.parse(ok(['report', file, '--format', 'json']).stdout) as Record<string, unknown>[];
    assert.equal(cells.length, 2);
    const [h2, h3] = cells as { key: string; n: number; converged: number; no_metric: number; no_metric_runs: number[]; code_hashes: unknown; by_epoch: { epoch: number; converged: number; n: number }[] }[];
    assert.equal(h2!.key, 'hidden=2 learning_rate=0.5');
    assert.deepEqual([h2!.converged, h2!.n, h2!.no_metric, h2!.no_metric_runs], [1, 3, 1, [4]]);
    assert.deepEqual(h3!.code_hashes, [{ hash: 'aaaa1111', runs: 3 }, { hash: 'bbbb2222', runs: 1 }]);
    assert.deepEqual(h3!.by_epoch.map((p) => [p.epoch, p.converged, p.n]), [[1, 0, 3], [2, 0, 3], [3, 2, 3]]);
    assert.ok(cells.every((c) => !('alive' in c) && !('rate_alive' in c)));
    const csv = ok(['report', file, '--format', 'csv']).stdout.split('\r\n');
    assert.ok(csv[0]!.startsWith('hidden,learning_rate,runs,done,converged,n,rate'));
    assert.doesNotMatch(csv[0]!, /alive/);
    assert.match(csv[2]!, /,aaaa1111 bbbb2222$/);
  });

  it('report --metric re-scores by any reported metric, with --direction above and --at best', () => {
    const cells = JSON.parse(ok(['report', file, '--format', 'json', '--metric', 'accuracy', '--threshold', '0.9', '--direction', 'above']).stdout) as { converged: number; n: number; no_metric: number }[];
    assert.deepEqual(cells.map((c) => [c.converged, c.n, c.no_metric]), [[1, 4, 0], [2, 3, 0]]);
    const best = JSON.parse(ok(['report', file, '--format', 'json', '--metric', 'loss', '--threshold', '0.25', '--at', 'best']).stdout) as { converged: number; n: number }[];
    assert.deepEqual(best.map((c) => [c.converged, c.n]), [[3, 3], [3, 3]]);
    const bad = runCli(['report', file, '--metric', 'acuracy']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--metric acuracy: no run reported it \(did you mean accuracy\?\); the runs report accuracy, loss/);
  });

  it('the HTML report draws learning curves of the rule metric and says nothing of alive runs', () => {
    const out = join(dir, 'r.html');
    ok(['report', file, '--out', out]);
    const html = readFileSync(out, 'utf8');
    assert.match(html, /<h2>Learning curves<\/h2>/);
    assert.match(html, /The rule&#39;s metric, loss, per epoch/);
    assert.match(html, /id="budget-curves"/);
    assert.doesNotMatch(html, /alive|dead at init/);
  });

  it('query filters on declared params and final_<metric>, and prints them as columns', () => {
    const rows = JSON.parse(ok(['query', file, '--where', 'hidden=3 and final_loss<0.05', '--format', 'json']).stdout) as Record<string, unknown>[];
    assert.deepEqual(rows.map((r) => [r.id, r.hidden, r.learning_rate, r.final_loss, r.code_hash]), [[5, 3, 0.5, 0.01, 'bbbb2222'], [8, 3, 0.5, 0.01, 'aaaa1111']]);
    assert.ok(!('engine' in rows[0]!) && !('alive_at_init' in rows[0]!));
    const acc = JSON.parse(ok(['query', file, '--where', 'final_accuracy>=0.75 and activation=sigmoid and outcome=no_metric', '--format', 'json']).stdout) as unknown[];
    assert.equal(acc.length, 0);
    const bad = runCli(['query', file, '--where', 'hiden=3']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown name "hiden" \(did you mean hidden\?\)/);
    assert.match(bad.stderr, /final_accuracy, final_loss/);
  });

  it('compare pairs the runs by seed, says which cells mixed code versions and refuses --alive', () => {
    const { stdout } = ok(['compare', file, '--a', 'hidden=2', '--b', 'hidden=3']);
    const lines = stdout.split('\n');
    assert.equal(lines[0], 'cell hidden=3 learning_rate=0.5: runs trained by 2 versions of the code (aaaa1111: 3 runs, bbbb2222: 1 run)');
    assert.equal(lines[1], 'scored by loss < 0.05');
    // Seeds 3 (failed in B) and 4 (no_metric in A) leave two pairs: seed 1 both, seed 2 neither.
    assert.match(stdout, /paired: 2 pairs of runs with the same seed/);
    const above = JSON.parse(ok(['compare', file, '--a', 'hidden=2', '--b', 'hidden=3', '--metric', 'accuracy', '--threshold', '0.9', '--direction', 'above', '--json']).stdout) as Record<string, unknown>;
    assert.equal(above.direction, 'above');
    const alive = runCli(['compare', file, '--a', 'hidden=2', '--b', 'hidden=3', '--alive']);
    assert.equal(alive.code, 2);
    assert.match(alive.stderr, /--alive: a module trainer's runs have no alive-at-init/);
  });

  it('status counts no_metric runs outside the finished ones', () => {
    const { stdout } = ok(['status', file]);
    assert.match(stdout, /converged so far: 3 of 6 finished runs \(1 failed or timed out, 1 without the rule's metric, not counted\)/);
    assert.match(stdout, /no_metric 1/);
  });
});
