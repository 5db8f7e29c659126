import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { expandPlan } from '../../src/grid';
import { parseSpec } from '../../src/spec';
import { claimRuns, finishRun, openDb, recordEpoch, syncPlan } from '../../src/store';
import { runCli, tempDir } from '../helpers';

/**
 * A real database whose outcomes are set by hand: 10 seeds at n_samples=80 of which 3 converged,
 * 10 at n_samples=130 of which 9 converged — so the statistics can be checked against values
 * computed independently.
 */
function syntheticDb(): { dir: string; file: string } {
  const dir = tempDir();
  const file = join(dir, 'syn.db');
  const spec = parseSpec('name: syn\nrepeats: 10\ndata: {seq_len: 200}\ngrid:\n  n_samples: [80, 130]\n', 'syn.yaml');
  const plan = expandPlan(spec);
  const db = openDb(file);
  syncPlan(db, file, spec, plan);
  const runs = claimRuns(db, { owner: 't', limit: 100, leaseSeconds: 60, retries: 0 });
  const byN = new Map<number, number>();
  for (const r of runs) {
    const n = (JSON.parse(r.paramsJson) as { n_samples: number }).n_samples;
    const i = byN.get(n) ?? 0;
    byN.set(n, i + 1);
    const converged = n === 80 ? i < 3 : i < 9;
    const m = { epoch: 1, loss: 0.01, mae: 0.05, valLoss: 0.01, valMae: converged ? 0.02 : 0.2, popLoss: 0.01, popMae: converged ? 0.02 : 0.2, unseenMae: 0.1, popMaxOutput: 1, seconds: 0.1 };
    // Readers score from the stored epochs, so the epoch that decides the outcome is stored too.
    recordEpoch(db, { id: r.id, owner: 't' }, m);
    finishRun(db, { id: r.id, owner: 't' }, { backend: 'fused-js', outcome: converged ? 'converged' : 'not_converged', aliveAtInit: true, final: m, convergedEpoch: converged ? 1 : null, epochsRun: 1, seconds: 0.1 });
  }
  db.close();
  return { dir, file };
}

/** Two-sided Fisher exact p for [[3,7],[9,1]], by the hypergeometric formula, independently of src/. */
function referenceFisher(): number {
  const choose = (n: number, k: number): number => {
    let r = 1;
    for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
    return r;
  };
  // Margins: row sums 10 and 10, first-column sum 12, total 20. P(a) = C(10,a)·C(10,12-a)/C(20,12).
  const p = (a: number) => (choose(10, a) * choose(10, 12 - a)) / choose(20, 12);
  const observed = p(3);
  let sum = 0;
  for (let a = 2; a <= 10; a++) if (p(a) <= observed * (1 + 1e-7)) sum += p(a);
  return sum;
}

describe('compare and query on a real database', () => {
  it('compare --json gives both rates, their Wilson CIs and Fisher\'s two-sided p (3/10 vs 9/10 ≈ 0.0198)', () => {
    const { file } = syntheticDb();
    const r = runCli(['compare', file, '--a', 'n_samples=80', '--b', 'n_samples=130', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as { a: { k: number; n: number; rate: number; ci: { lo: number; hi: number } }; b: { k: number; n: number; rate: number }; difference: number; p_value: number };
    assert.deepEqual([c.a.k, c.a.n, c.b.k, c.b.n], [3, 10, 9, 10]);
    assert.equal(c.a.rate, 0.3);
    assert.ok(Math.abs(c.difference - 0.6) < 1e-12);
    const ref = referenceFisher();
    assert.ok(Math.abs(ref - 0.019766) < 1e-5, `reference ${ref}`);
    assert.ok(Math.abs(c.p_value - ref) < 1e-9, `p ${c.p_value} vs reference ${ref}`);
    // Wilson 3/10: 0.1078 .. 0.6032 (the score interval, z = 1.96).
    assert.ok(Math.abs(c.a.ci.lo - 0.1078) < 1e-3 && Math.abs(c.a.ci.hi - 0.6032) < 1e-3, JSON.stringify(c.a.ci));
  });

  it('compare without groups says what it needs', () => {
    const { file } = syntheticDb();
    const r = runCli(['compare', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /compare needs --a and --b/);
  });

  it('query --sql "delete from runs" fails with a clear error and the row count is unchanged', () => {
    const { file } = syntheticDb();
    const r = runCli(['query', file, '--sql', 'delete from runs']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refused: the statement would modify the database/);
    const db = new Database(file, { readonly: true });
    assert.equal(db.prepare('select count(*) from runs').pluck().get(), 20);
    db.close();
  });

  it('query --where binds values: a quote in a value cannot break out of the SQL', () => {
    const { file } = syntheticDb();
    const ok = runCli(['query', file, '--where', 'n_samples=80 and outcome=converged', '--format', 'json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as unknown[]).length, 3);
    const evil = runCli(['query', file, '--where', `outcome="x' or 1=1 --"`, '--format', 'json']);
    assert.equal(evil.code, 0, evil.stderr);
    assert.deepEqual(JSON.parse(evil.stdout), []);
    const bad = runCli(['query', file, '--where', 'n_samples=']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });

  it('query --format csv has a header and one line per run', () => {
    const { file } = syntheticDb();
    const r = runCli(['query', file, '--where', 'n_samples=130', '--format', 'csv']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 11);
    assert.match(lines[0]!, /^id,run_key,/);
  });

  it('report --format html writes one self-contained file', () => {
    const { dir, file } = syntheticDb();
    const out = join(dir, 'r.html');
    const r = runCli(['report', file, '--format', 'html', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.ok(existsSync(out));
    assert.match(html, /<svg/);
    assert.doesNotMatch(html, /<script[^>]+src=/);
  });
});
