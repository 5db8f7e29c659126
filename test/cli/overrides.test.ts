import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, SMALL_SPEC, tempDir, writeSpec } from '../helpers';

function sweepRow(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    const sweep = db.prepare(`SELECT spec_text, spec_hash FROM sweep`).get() as { spec_text: string; spec_hash: string };
    const epochs = db.prepare(`SELECT DISTINCT epochs FROM runs WHERE in_plan`).pluck().all() as number[];
    const nSamples = db.prepare(`SELECT DISTINCT n_samples FROM runs WHERE in_plan ORDER BY 1`).pluck().all() as number[];
    const versions = db.prepare(`SELECT count(*) FROM spec_versions`).pluck().get() as number;
    return { ...sweep, epochs, nSamples, versions };
  } finally {
    db.close();
  }
}

describe('--set, the default results folder and report --out', () => {
  it('run --set overrides spec keys, is recorded with the spec, and the same command resumes without a spec change', () => {
    const dir = tempDir();
    writeSpec(dir, 's.yaml', SMALL_SPEC('setrun'));
    const args = ['run', 's.yaml', '--db', 'x.db', '--quiet', '--set', 'train.epochs=2', '--set', 'grid.n_samples=[10]'];
    const r = runCli(args, { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const first = sweepRow(join(dir, 'x.db'));
    assert.deepEqual(first.epochs, [2]);
    assert.deepEqual(first.nSamples, [10]);
    assert.match(first.spec_text, /^# converge --set train\.epochs=2 --set grid\.n_samples=\[10\]\n/);

    const again = runCli([...args.filter((a) => a !== '--quiet'), '--json'], { cwd: dir });
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { trained: number }).trained, 0, 'nothing retrained');
    assert.doesNotMatch(again.stderr, /the spec changed/);
    assert.equal(sweepRow(join(dir, 'x.db')).versions, 1);

    // Without the override it is another version of the spec, and status names the change.
    const plain = runCli(['run', 's.yaml', '--db', 'x.db', '--quiet'], { cwd: dir });
    assert.equal(plain.code, 0, plain.stderr);
    assert.match(plain.stderr, /the spec changed since the last run \(train\.epochs: 2 → 3; grid\.n_samples: \[10\] → \[10,13\]\)/);
    const status = runCli(['status', 'x.db'], { cwd: dir });
    assert.match(status.stdout, /train\.epochs: 2 → 3/);
  });

  it('plan --set shows the plan of the overridden spec', () => {
    const dir = tempDir();
    writeSpec(dir, 's.yaml', SMALL_SPEC('setplan'));
    const count = (extra: string[]) => {
      const r = runCli(['plan', 's.yaml', '--json', ...extra], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      return (JSON.parse(r.stdout) as { run_count: number }).run_count;
    };
    assert.equal(count([]), 8);
    assert.equal(count(['--set', 'repeats=3']), 12);
    assert.equal(count(['--set', 'grid.batch_size=[1]', '--set', 'repeats=1']), 2);
  });

  it('run without --db creates the missing results/ folder for its default database', () => {
    const dir = tempDir();
    writeSpec(dir, 's.yaml', SMALL_SPEC('nofolder'));
    assert.equal(existsSync(join(dir, 'results')), false);
    const r = runCli(['run', 's.yaml', '--quiet'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(dir, 'results', 'nofolder.db')));
  });

  it('report --out takes its format from the file extension unless --format is given', () => {
    const dir = tempDir();
    writeSpec(dir, 's.yaml', SMALL_SPEC('outfmt'));
    assert.equal(runCli(['run', 's.yaml', '--db', 'x.db', '--quiet'], { cwd: dir }).code, 0);
    for (const f of ['r.csv', 'r.json', 'r.md', 'r.txt', 'r.html']) assert.equal(runCli(['report', 'x.db', '--out', f], { cwd: dir }).code, 0, f);
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    assert.match(read('r.csv'), /^batch_size,n_samples,seq_len,runs,/);
    assert.equal((JSON.parse(read('r.json')) as unknown[]).length, 4);
    // Both start with the report's header lines, then the table.
    assert.match(read('r.md'), /^sweep: outfmt\n[\s\S]*\n\n\|.*\|\n\|[-:| ]+\|\n/);
    assert.match(read('r.txt'), /^sweep: outfmt\n[\s\S]*\n\n\S.*\n-+ /, 'an unknown extension gets the plain table');
    assert.match(read('r.html'), /^<!doctype html>/i);
    assert.equal(runCli(['report', 'x.db', '--out', 'forced.html', '--format', 'csv'], { cwd: dir }).code, 0);
    assert.doesNotMatch(read('forced.html'), /<html/i, 'an explicit --format wins');
  });
});
