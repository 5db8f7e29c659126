import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, SMALL_SPEC, tempDir, writeSpec, ROOT } from '../helpers';

describe('the converge command line', () => {
  it('plan --json prints the run list of the smoke sweep', () => {
    const r = runCli(['plan', 'sweeps/smoke.yaml', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const plan = JSON.parse(r.stdout) as { run_count: number; runs: { run_key: string; seed: number }[] };
    assert.equal(plan.runs.length, plan.run_count);
    assert.ok(plan.run_count >= 8);
  });

  for (const [what, text, pattern] of [
    ['an unknown key', 'name: x\ndata: {seq_len: 20, n_samples: 10}\nmodel:\n  unit: 3\n', /x\.yaml:4: model: unknown key "unit" \(did you mean "units"\?\)/],
    ['n_samples > seq_len + 1', 'name: x\ngrid:\n  seq_len: [20]\n  n_samples: [30]\n', /n_samples=30 > seq_len\+1=21/],
    ['malformed YAML', 'name: x\ngrid:\n  seq_len: [20\n  n_samples: [3]\n', /x\.yaml:\d+: malformed YAML/],
  ] as const) {
    it(`a spec with ${what} exits 2 with one clear line and writes nothing`, () => {
      const dir = tempDir();
      writeSpec(dir, 'x.yaml', text);
      for (const cmd of ['plan', 'run']) {
        const r = runCli([cmd, 'x.yaml'], { cwd: dir });
        assert.equal(r.code, 2);
        assert.equal(r.stdout, '');
        const lines = r.stderr.trim().split('\n');
        assert.equal(lines.length, 1, r.stderr);
        assert.match(lines[0]!, pattern);
        assert.doesNotMatch(r.stderr, /\bat .*\.js:\d+/, 'no stack trace');
      }
      assert.deepEqual(readdirSync(dir), ['x.yaml']);
    });
  }

  it('run trains every planned run into the file database, and a second run trains nothing', () => {
    const dir = tempDir();
    writeSpec(dir, 's.yaml', SMALL_SPEC('small'));
    const plan = JSON.parse(runCli(['plan', 's.yaml', '--json'], { cwd: dir }).stdout) as { run_count: number };
    const db = join(dir, 'x.db');
    const r1 = runCli(['run', 's.yaml', '--db', db, '--workers', '2'], { cwd: dir });
    assert.equal(r1.code, 0, r1.stderr);
    const conn = new Database(db, { readonly: true });
    assert.equal(conn.prepare(`SELECT count(*) FROM runs WHERE status = 'done'`).pluck().get(), plan.run_count);
    assert.equal(conn.prepare(`SELECT count(*) FROM epochs`).pluck().get(), plan.run_count * 3, 'every epoch of every run');
    const ids = conn.prepare(`SELECT id, finished_at FROM runs ORDER BY id`).all();
    conn.close();
    const r2 = runCli(['run', 's.yaml', '--db', db, '--workers', '2', '--json'], { cwd: dir });
    assert.equal(r2.code, 0, r2.stderr);
    assert.equal((JSON.parse(r2.stdout) as { trained: number }).trained, 0);
    const again = new Database(db, { readonly: true });
    assert.deepEqual(again.prepare(`SELECT id, finished_at FROM runs ORDER BY id`).all(), ids);
    again.close();
  });

  it('the default database is results/<name>.db and report --format json has one entry per cell', () => {
    // (A missing results/ folder is created: test/cli/overrides.test.ts.)
    const inRoot = tempDir();
    writeSpec(inRoot, 's.yaml', SMALL_SPEC('dflt'));
    mkdirSync(join(inRoot, 'results'));
    const r = runCli(['run', 's.yaml', '--quiet'], { cwd: inRoot });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(inRoot, 'results', 'dflt.db')));
    const rep = runCli(['report', 'results/dflt.db', '--format', 'json'], { cwd: inRoot });
    assert.equal(rep.code, 0, rep.stderr);
    const cells = JSON.parse(rep.stdout) as { params: Record<string, unknown>; runs: number }[];
    assert.equal(cells.length, 4);
    assert.ok(cells.every((c) => c.runs === 2));
    for (const f of ['table', 'md', 'csv']) assert.equal(runCli(['report', 'results/dflt.db', '--format', f], { cwd: inRoot }).code, 0);
    const st = runCli(['status', 'results/dflt.db', '--json'], { cwd: inRoot });
    assert.equal((JSON.parse(st.stdout) as { done: number }).done, 8);
  });

  it('a misspelled command or option is a one-line usage error with exit 2', () => {
    const r = runCli(['rnu', 'x']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'rnu'/);
    const o = runCli(['run', 'sweeps/smoke.yaml', '--workers', 'two']);
    assert.equal(o.code, 2);
    assert.match(o.stderr, /--workers must be a positive integer, got "two"/);
  });

  it('--help explains every command', () => {
    const r = runCli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['plan', 'run', 'status', 'report', 'query', 'compare', 'schema']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
    const run = runCli(['run', '--help']);
    assert.match(run.stdout, /resum/);
    assert.match(run.stdout, /Exit codes/);
  });

  it('the README names the two commands that work on a fresh clone', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const head = readme.split('\n').slice(0, 12).join('\n');
    // The main job runs the built CLI directly: fast on a fresh clone, no npm cache involved.
    assert.match(head, /npm ci && node dist\/src\/cli\/main\.js run sweeps\/smoke\.yaml/);
    assert.match(head, /npm test/);
  });
});
