import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { sha256 } from '../../src/spec';
import { runCli, SMALL_SPEC, tempDir, writeSpec } from '../helpers';

function runsOf(file: string) {
  const db = new Database(file, { readonly: true });
  const rows = db.prepare(`SELECT run_key, seed, n_samples, batch_size, status, outcome, final_val_mae, epochs_run FROM runs ORDER BY run_key`).all();
  const epochs = db.prepare(`SELECT r.run_key, e.epoch, e.val_mae FROM epochs e JOIN runs r ON r.id = e.run_id ORDER BY r.run_key, e.epoch`).all();
  db.close();
  return { rows, epochs };
}

describe('sharding and merging', () => {
  it('two shards of a sweep merged give the same runs as the unsharded sweep', () => {
    const dir = tempDir();
    writeSpec(dir, 's.yaml', SMALL_SPEC('sharded'));
    const whole = join(dir, 'whole.db');
    assert.equal(runCli(['run', 's.yaml', '--db', whole, '--quiet'], { cwd: dir }).code, 0);
    const s1 = join(dir, 's1.db');
    const s2 = join(dir, 's2.db');
    assert.equal(runCli(['run', 's.yaml', '--db', s1, '--shard', '1/2', '--quiet'], { cwd: dir }).code, 0);
    assert.equal(runCli(['run', 's.yaml', '--db', s2, '--shard', '2/2', '--quiet'], { cwd: dir }).code, 0);
    const wholeRuns = runsOf(whole).rows as { run_key: string }[];
    const doneKeys = (file: string) => (runsOf(file).rows as { run_key: string; status: string }[]).filter((r) => r.status === 'done').map((r) => r.run_key);
    for (const f of [s1, s2]) assert.equal(runsOf(f).rows.length, wholeRuns.length, 'each shard database records the whole plan');
    const d1 = doneKeys(s1);
    const d2 = doneKeys(s2);
    assert.ok(d1.length > 0 && d2.length > 0, `both shards trained runs (${d1.length}, ${d2.length})`);
    assert.equal(d1.filter((k) => d2.includes(k)).length, 0, 'shards do not overlap');
    assert.deepEqual([...d1, ...d2].sort(), wholeRuns.map((r) => r.run_key).sort(), 'together they trained every run');
    const merged = join(dir, 'merged.db');
    const m = runCli(['merge', merged, s1, s2, '--json'], { cwd: dir });
    assert.equal(m.code, 0, m.stderr);
    assert.deepEqual(runsOf(merged), runsOf(whole));
    const again = runCli(['merge', merged, s1, s2, '--json'], { cwd: dir });
    assert.equal((JSON.parse(again.stdout) as { runsAdded: number }).runsAdded, 0, 'merging twice adds nothing');
    assert.deepEqual(runsOf(merged), runsOf(whole));
    const reversed = join(dir, 'reversed.db');
    assert.equal(runCli(['merge', reversed, s2, s1], { cwd: dir }).code, 0);
    assert.deepEqual(runsOf(reversed), runsOf(whole), 'the order of the shards does not matter');
    const rep = runCli(['report', merged, '--format', 'json'], { cwd: dir });
    assert.equal((JSON.parse(rep.stdout) as unknown[]).length, 4);
  });

  it('shards whose spec files differ only in comments and key order, or that recorded the older raw-text hash, merge', () => {
    const dir = tempDir();
    writeSpec(dir, 'a.yaml', SMALL_SPEC('fmt'));
    writeSpec(dir, 'b.yaml', '# the same sweep, written differently\ngrid: {batch_size: [1, 4], n_samples: [10, 13], seq_len: [12]}\ntrain: {epochs: 3}  # short\nrepeats: 2\nseed: 3\nname: fmt\n');
    const s1 = join(dir, 's1.db');
    const s2 = join(dir, 's2.db');
    assert.equal(runCli(['run', 'a.yaml', '--db', s1, '--shard', '1/2', '--quiet'], { cwd: dir }).code, 0);
    const r2 = runCli(['run', 'b.yaml', '--db', s2, '--shard', '2/2', '--quiet'], { cwd: dir });
    assert.equal(r2.code, 0, r2.stderr);
    // What a database written before the canonical hash holds: the hash of the raw text.
    const old = new Database(s2);
    old.prepare(`UPDATE sweep SET spec_hash = ?`).run(sha256(old.prepare(`SELECT spec_text FROM sweep`).pluck().get() as string));
    old.close();
    const m = runCli(['merge', join(dir, 'merged.db'), s1, s2], { cwd: dir });
    assert.equal(m.code, 0, m.stderr);
    // Each shard database records the whole plan; merged, every run is there once, done by its shard.
    const merged = runsOf(join(dir, 'merged.db')).rows as { status: string }[];
    assert.equal(merged.length, runsOf(s1).rows.length);
    assert.ok(merged.every((r) => r.status === 'done'), 'every run done by one of the two shards');
  });

  it('databases of different sweeps are refused and nothing is written', () => {
    const dir = tempDir();
    writeSpec(dir, 'a.yaml', SMALL_SPEC('a'));
    writeSpec(dir, 'b.yaml', SMALL_SPEC('a').replace('epochs: 3', 'epochs: 2'));
    assert.equal(runCli(['run', 'a.yaml', '--db', join(dir, 'a.db'), '--quiet'], { cwd: dir }).code, 0);
    assert.equal(runCli(['run', 'b.yaml', '--db', join(dir, 'b.db'), '--quiet'], { cwd: dir }).code, 0);
    const r = runCli(['merge', join(dir, 'out.db'), join(dir, 'a.db'), join(dir, 'b.db')], { cwd: dir });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /only shards of one sweep \(same spec\) can be merged/);
    assert.equal(existsSync(join(dir, 'out.db')), false);
  });

  it('a malformed --shard is a usage error', () => {
    const r = runCli(['run', 'sweeps/smoke.yaml', '--shard', '3/2']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--shard must be i\/N/);
  });
});
