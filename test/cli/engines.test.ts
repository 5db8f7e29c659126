import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli, tempDir, writeSpec } from '../helpers';

describe('the two engines through the whole product path', () => {
  it('one seed run with engine tfjs and with engine fused records the same epoch-1 val_mae within 1e-3', () => {
    const dir = tempDir();
    // seed 4 starts with a live ReLU (a dead start makes any two engines agree trivially).
    writeSpec(dir, 'e.yaml', 'name: engines\nseed: 4\ndata: {seq_len: 30, n_samples: 31}\ntrain: {epochs: 2, batch_size: 1}\ngrid:\n  engine: [fused, tfjs]\n');
    const db = join(dir, 'e.db');
    const r = runCli(['run', 'e.yaml', '--db', db, '--workers', '2', '--quiet'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const conn = new Database(db, { readonly: true });
    const rows = conn
      .prepare(`SELECT r.engine, r.backend, e.epoch, e.loss, e.val_mae FROM epochs e JOIN runs r ON r.id = e.run_id ORDER BY e.epoch, r.engine`)
      .all() as { engine: string; backend: string; epoch: number; loss: number; val_mae: number }[];
    conn.close();
    const fused = rows.filter((x) => x.engine === 'fused');
    const tfjs = rows.filter((x) => x.engine === 'tfjs');
    assert.equal(fused.length, 2);
    assert.equal(tfjs.length, 2);
    assert.equal(fused[0]!.backend, process.env.CONVERGE_KERNEL?.startsWith('js') ? 'fused-js' : 'fused-wasm-simd');
    assert.match(tfjs[0]!.backend, /^(cpu|tensorflow)$/, 'the tfjs backend used is recorded per run');
    for (let i = 0; i < 2; i++) {
      assert.ok(Math.abs(fused[i]!.val_mae - tfjs[i]!.val_mae) < 1e-3, `epoch ${i + 1}: ${fused[i]!.val_mae} vs ${tfjs[i]!.val_mae}`);
      assert.ok(Math.abs(fused[i]!.loss - tfjs[i]!.loss) < 1e-3);
    }
    assert.notEqual(fused[0]!.val_mae, fused[1]!.val_mae, 'the model trained between epochs');
  });

  it('the same spec and seed give identical epochs when run twice', () => {
    const dir = tempDir();
    writeSpec(dir, 'r.yaml', 'name: repro\nseed: 4\nrepeats: 2\ndata: {seq_len: 40, n_samples: 41}\ntrain: {epochs: 4, batch_size: 4}\n');
    const read = (file: string) => {
      const c = new Database(file, { readonly: true });
      const out = c.prepare(`SELECT r.seed, e.epoch, e.loss, e.mae, e.val_loss, e.val_mae FROM epochs e JOIN runs r ON r.id = e.run_id ORDER BY r.seed, e.epoch`).all();
      c.close();
      return out;
    };
    assert.equal(runCli(['run', 'r.yaml', '--db', join(dir, 'a.db'), '--quiet'], { cwd: dir }).code, 0);
    assert.equal(runCli(['run', 'r.yaml', '--db', join(dir, 'b.db'), '--quiet', '--workers', '1'], { cwd: dir }).code, 0);
    const a = read(join(dir, 'a.db'));
    assert.equal(a.length, 8);
    assert.deepEqual(a, read(join(dir, 'b.db')));
  });
});
