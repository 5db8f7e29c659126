/**
 * Module trainers end to end: a real `converge run` of a sweep file with `trainer: {module: …}` whose
 * runs import a JS module written here; the outcome, metrics and code identity read back.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { sandbox } from '../reliability/harness';

const USER_CLI = resolve(__dirname, '../../src/cli/main.js');

describe('module trainers end to end', () => {
  it('every run is trained by the module, scored on its reported metric, and records the code that trained it', (t) => {
    const dir = sandbox(t);
    // Odd seeds reach pop_mae 0.01 (converged under the default rule pop_mae < 0.05), even seeds stay at 0.5.
    writeFileSync(
      join(dir, 'trainer.mjs'),
      `export async function train(params, ctx) {
         for (let e = 1; e <= 4; e++) ctx.report(e, { pop_mae: ctx.seed % 2 ? 0.04 / e : 0.5, device_given: ctx.device === undefined ? 0 : 1 });
       }`,
    );
    writeFileSync(join(dir, 'sweep.yaml'), `name: mod\nseed: 1\nrepeats: 4\ntrainer: {module: ./trainer.mjs}\nconverged: {metric: pop_mae, below: 0.05}\n`);
    const db = join(dir, 'mod.db');
    const r = spawnSync(process.execPath, [USER_CLI, 'run', 'sweep.yaml', '--db', db, '--workers', '2'], {
      cwd: dir,
      env: { ...process.env, CONVERGE_FAULT: ''},
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const h = new Database(db, { readonly: true });
    try {
      const runs = h.prepare(`SELECT id, seed, status, outcome, converged_epoch, epochs_run, code_hash, command_line, device FROM runs ORDER BY id`).all() as {
        id: number;
        seed: number;
        status: string;
        outcome: string;
        converged_epoch: number | null;
        epochs_run: number;
        code_hash: string;
        command_line: string;
        device: string | null;
      }[];
      assert.equal(runs.length, 4);
      for (const run of runs) {
        assert.equal(run.status, 'done');
        assert.equal(run.outcome, run.seed % 2 ? 'converged' : 'not_converged');
        assert.equal(run.converged_epoch, run.seed % 2 ? 1 : null);
        assert.equal(run.epochs_run, 4);
        assert.match(run.code_hash, /^sha256:[0-9a-f]{64}$/);
        assert.equal(run.command_line, join(dir, 'trainer.mjs'));
        assert.equal(run.device, null);
      }
      const finals = h.prepare(`SELECT run_id, final, best, best_epoch FROM run_metrics WHERE name = 'pop_mae' ORDER BY run_id`).all() as { run_id: number; final: number; best: number; best_epoch: number }[];
      assert.deepEqual(
        finals.map((f) => [f.final, f.best_epoch]),
        runs.map((run) => (run.seed % 2 ? [0.01, 4] : [0.5, 1])),
      );
      assert.equal((h.prepare(`SELECT count(*) AS n FROM epoch_metrics`).get() as { n: number }).n, 4 * 4 * 2);
    } finally {
      h.close();
    }
  });

  it('a module that throws fails its runs with the message and stack, and the breaker stops the sweep', (t) => {
    const dir = sandbox(t);
    writeFileSync(join(dir, 'trainer.mjs'), `export async function train() { throw new Error('shape mismatch: (4, 2) vs (2, 1)'); }`);
    writeFileSync(join(dir, 'sweep.yaml'), `name: mod\nseed: 1\nrepeats: 5\ntrainer: {module: ./trainer.mjs}\nconverged: {metric: pop_mae, below: 0.05}\n`);
    const db = join(dir, 'mod.db');
    const r = spawnSync(process.execPath, [USER_CLI, 'run', 'sweep.yaml', '--db', db, '--workers', '1'], {
      cwd: dir,
      env: { ...process.env, CONVERGE_FAULT: ''},
      encoding: 'utf8',
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /the first 3 runs all failed/);
    assert.match(r.stderr, /shape mismatch: \(4, 2\) vs \(2, 1\)/);
    assert.match(r.stderr, new RegExp(`command line: ${join(dir, 'trainer.mjs').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
    const h = new Database(db, { readonly: true });
    try {
      const failed = h.prepare(`SELECT error FROM runs WHERE status = 'failed'`).pluck().all() as string[];
      assert.equal(failed.length, 3);
      for (const e of failed) assert.match(e, /^Error: shape mismatch: \(4, 2\) vs \(2, 1\)\n\s+at train \(file:/);
    } finally {
      h.close();
    }
  });

  it('--timeout stops a module that never yields (its thread is terminated after --grace) and records the run timed_out', (t) => {
    const dir = sandbox(t);
    writeFileSync(join(dir, 'trainer.mjs'), `export async function train(params, ctx) { ctx.report(1, { pop_mae: 1 }); for (;;) {} }`);
    writeFileSync(join(dir, 'sweep.yaml'), `name: mod\nseed: 1\nrepeats: 2\ntrainer: {module: ./trainer.mjs}\nconverged: {metric: pop_mae, below: 0.05}\n`);
    const db = join(dir, 'mod.db');
    const r = spawnSync(process.execPath, [USER_CLI, 'run', 'sweep.yaml', '--db', db, '--workers', '2', '--timeout', '1', '--grace', '0.2'], {
      cwd: dir,
      env: { ...process.env, CONVERGE_FAULT: ''},
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    const h = new Database(db, { readonly: true });
    try {
      assert.deepEqual(h.prepare(`SELECT status, outcome, error FROM runs`).all(), [
        { status: 'failed', outcome: 'timed_out', error: 'timed out after 1 s (--timeout)' },
        { status: 'failed', outcome: 'timed_out', error: 'timed out after 1 s (--timeout)' },
      ]);
    } finally {
      h.close();
    }
  });
});
