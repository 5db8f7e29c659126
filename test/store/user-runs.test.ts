import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  claimRuns, failUserRun, finishUserRun, mergeInto, openDb, orphanRecords, recordRunProcess, recordUserEpoch, releaseRuns, syncPlan,
} from '../../src/store';
import { ROOT, tempDir } from '../helpers';
import { buildUserDb, userSpecAndPlan } from './user-db';

const RULE = { metric: 'loss', threshold: 0.05, direction: 'below' as const };
const CODE = { codeHash: 'abc123', commandLine: 'python3 train.py --lr 0.5' };

function freshUserDb(o: Parameters<typeof userSpecAndPlan>[0] = {}) {
  const file = join(tempDir(), 'u.db');
  const { spec, plan } = userSpecAndPlan(o);
  const db = openDb(file);
  const sync = syncPlan(db, file, spec, plan);
  return { db, file, spec, plan, sync };
}

describe('user-trainer runs in the store', () => {
  it('syncPlan inserts a user sweep with its trainer, its declared params as params_json and no built-in column', () => {
    const { db, file, spec, plan, sync } = freshUserDb();
    assert.equal(sync.added, 8);
    const rows = db.prepare(`SELECT trainer, params_json, engine, seq_len, units, learning_rate, cost FROM runs ORDER BY id`).all() as Record<string, unknown>[];
    assert.ok(rows.every((r) => r.trainer === 'module' && r.engine === null && r.seq_len === null && r.units === null && r.learning_rate === null && r.cost === 1));
    assert.deepEqual(JSON.parse(String(rows[0]!.params_json)), { activation: 'sigmoid', hidden: 2, learning_rate: 0.5 });
    assert.deepEqual(db.prepare(`SELECT converged_metric, converged_threshold, converged_direction, converged_at FROM sweep`).get(), {
      converged_metric: 'loss', converged_threshold: 0.05, converged_direction: 'below', converged_at: null,
    });
    assert.equal(syncPlan(db, file, spec, plan).added, 0, 'resume adds nothing');
    db.close();
  });

  it('a claimed user run keeps its params_json as planned (no built-in parameter is introduced into it)', () => {
    const { db, plan } = freshUserDb();
    const [r] = claimRuns(db, { owner: 'me', limit: 1, leaseSeconds: 60, retries: 0 });
    assert.equal(r!.paramsJson, plan.runs[0]!.paramsJson);
    db.close();
  });

  it('recordUserEpoch stores an epochs row and one metric row per name, NaN and Infinity as NULL, and nothing once the claim is lost', () => {
    const { db } = freshUserDb();
    const [r] = claimRuns(db, { owner: 'me', limit: 1, leaseSeconds: 60, retries: 0 });
    const claim = { id: r!.id, owner: 'me' };
    assert.equal(recordUserEpoch(db, claim, { epoch: 1, metrics: { loss: 0.5, accuracy: 0.25 } }, 0.2), true);
    assert.equal(recordUserEpoch(db, claim, { epoch: 2, metrics: { loss: Number.NaN, accuracy: Number.POSITIVE_INFINITY } }, 0.3), true);
    assert.deepEqual(db.prepare(`SELECT epoch, loss, seconds FROM epochs WHERE run_id = ? ORDER BY epoch`).all(r!.id), [
      { epoch: 1, loss: null, seconds: 0.2 }, { epoch: 2, loss: null, seconds: 0.3 },
    ]);
    assert.deepEqual(db.prepare(`SELECT epoch, name, value FROM epoch_metrics WHERE run_id = ? ORDER BY epoch, name`).all(r!.id), [
      { epoch: 1, name: 'accuracy', value: 0.25 }, { epoch: 1, name: 'loss', value: 0.5 },
      { epoch: 2, name: 'accuracy', value: null }, { epoch: 2, name: 'loss', value: null },
    ]);
    assert.equal(recordUserEpoch(db, { id: r!.id, owner: 'someone else' }, { epoch: 3, metrics: { loss: 0.1 } }, 0.1), false);
    assert.equal(db.prepare(`SELECT count(*) FROM epoch_metrics WHERE epoch = 3`).pluck().get(), 0);
    db.close();
  });

  it('finishUserRun records the outcome, the code that trained the run and each metric\'s final and best value', () => {
    const { db } = freshUserDb();
    const [r] = claimRuns(db, { owner: 'me', limit: 1, leaseSeconds: 60, retries: 0 });
    const claim = { id: r!.id, owner: 'me' };
    const epochs = [{ loss: 0.3, accuracy: 0.5 }, { loss: 0.01, accuracy: 1 }, { loss: 0.02, accuracy: 0.75 }];
    epochs.forEach((m, i) => recordUserEpoch(db, claim, { epoch: i + 1, metrics: m }, 0.1));
    assert.equal(recordRunProcess(db, claim, { host: 'h', pid: 123, pgid: 123 }), true);
    assert.equal(finishUserRun(db, { id: r!.id, owner: 'thief' }, { outcome: 'converged', convergedEpoch: 2, epochsRun: 3, seconds: 1, rule: RULE, code: CODE }), false);
    assert.equal(
      finishUserRun(db, claim, { outcome: 'converged', convergedEpoch: 2, epochsRun: 3, seconds: 1, rule: RULE, code: CODE, outputTail: 'ok\n', logPath: '/x/log', device: '1', directions: { accuracy: 'above' } }),
      true,
    );
    assert.deepEqual(db.prepare(`SELECT status, outcome, converged_epoch, epochs_run, code_hash, command_line, output_tail, log_path, device, process_json, owner FROM runs WHERE id = ?`).get(r!.id), {
      status: 'done', outcome: 'converged', converged_epoch: 2, epochs_run: 3, code_hash: 'abc123', command_line: 'python3 train.py --lr 0.5',
      output_tail: 'ok\n', log_path: '/x/log', device: '1', process_json: null, owner: null,
    });
    assert.deepEqual(db.prepare(`SELECT name, final, best, best_epoch FROM run_metrics WHERE run_id = ? ORDER BY name`).all(r!.id), [
      { name: 'accuracy', final: 0.75, best: 1, best_epoch: 2 },
      { name: 'loss', final: 0.02, best: 0.01, best_epoch: 2 },
    ]);
    assert.equal(finishUserRun(db, claim, { outcome: 'converged', convergedEpoch: 2, epochsRun: 3, seconds: 1, rule: RULE, code: CODE }), false, 'a finished run is not finished twice');
    db.close();
  });

  it('failUserRun records the failure kind, the error, the code and the output tail, fenced on the claim', () => {
    const { db } = freshUserDb();
    const [a, b] = claimRuns(db, { owner: 'me', limit: 2, leaseSeconds: 60, retries: 0 });
    recordUserEpoch(db, { id: a!.id, owner: 'me' }, { epoch: 1, metrics: { loss: 1 } }, 0.1);
    assert.equal(failUserRun(db, { id: a!.id, owner: 'me' }, 'failed', 'exit status 3: Traceback …', 2, { code: CODE, outputTail: 'Traceback …' }), true);
    assert.equal(failUserRun(db, { id: b!.id, owner: 'me' }, 'timed_out', 'stopped by --timeout 5', 5, {}), true);
    assert.equal(failUserRun(db, { id: b!.id, owner: 'me' }, 'failed', 'again', 5, {}), false);
    assert.deepEqual(db.prepare(`SELECT status, outcome, error, epochs_run, code_hash, output_tail FROM runs WHERE id IN (?, ?) ORDER BY id`).all(a!.id, b!.id), [
      { status: 'failed', outcome: 'failed', error: 'exit status 3: Traceback …', epochs_run: 1, code_hash: 'abc123', output_tail: 'Traceback …' },
      { status: 'failed', outcome: 'timed_out', error: 'stopped by --timeout 5', epochs_run: 0, code_hash: null, output_tail: null },
    ]);
    db.close();
  });

  it('a run claimed again or released starts with no metric rows and no process', () => {
    const { db } = freshUserDb();
    const [r] = claimRuns(db, { owner: 'me', limit: 1, leaseSeconds: 60, retries: 0 });
    recordUserEpoch(db, { id: r!.id, owner: 'me' }, { epoch: 1, metrics: { loss: 1 } }, 0.1);
    recordRunProcess(db, { id: r!.id, owner: 'me' }, { host: 'h', pid: 5, pgid: 5 });
    assert.equal(releaseRuns(db, 'me'), 1);
    assert.deepEqual(db.prepare(`SELECT (SELECT count(*) FROM epoch_metrics) AS m, (SELECT count(*) FROM epochs) AS e, process_json FROM runs WHERE id = ?`).get(r!.id), { m: 0, e: 0, process_json: null });
    const [again] = claimRuns(db, { owner: 'other', limit: 1, leaseSeconds: 60, retries: 0 });
    assert.equal(again!.id, r!.id);
    recordUserEpoch(db, { id: r!.id, owner: 'other' }, { epoch: 1, metrics: { loss: 1 } }, 0.1);
    // The lease runs out; a third process claims it and must not see the old metrics.
    db.prepare(`UPDATE runs SET lease_until = 0 WHERE id = ?`).run(r!.id);
    claimRuns(db, { owner: 'third', limit: 1, leaseSeconds: 60, retries: 0 });
    assert.equal(db.prepare(`SELECT count(*) FROM epoch_metrics WHERE run_id = ?`).pluck().get(r!.id), 0);
    db.close();
  });

  it('orphanRecords lists the process of a running command run whose converge died on this host, and not one whose converge lives', async () => {
    const { db } = freshUserDb();
    const printOwner = `process.stdout.write(require(${JSON.stringify(join(ROOT, 'dist', 'src', 'store'))}).ownerId())`;
    // The owner id of a real process that has exited since, and of one that is still running.
    const dead = spawnSync(process.execPath, ['-e', printOwner], { encoding: 'utf8' }).stdout;
    assert.match(dead, /\//);
    const living = spawn(process.execPath, ['-e', `${printOwner}; setTimeout(() => {}, 60000)`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const alive = await new Promise<string>((res) => living.stdout.once('data', (d: Buffer) => res(d.toString())));
    after(() => living.kill());
    const [a] = claimRuns(db, { owner: dead, limit: 1, leaseSeconds: 60, retries: 0 });
    const [b] = claimRuns(db, { owner: alive, limit: 1, leaseSeconds: 60, retries: 0 });
    const [c] = claimRuns(db, { owner: dead, limit: 1, leaseSeconds: 60, retries: 0 });
    const rec = { host: 'h', bootId: 'b', pid: 4242, pgid: 4242, startTicks: 99 };
    recordRunProcess(db, { id: a!.id, owner: dead }, rec);
    recordRunProcess(db, { id: b!.id, owner: alive }, { ...rec, pid: 7, pgid: 7 });
    // c: a module run of a dead owner has no process to end.
    assert.deepEqual(orphanRecords(db), [{ runId: a!.id, owner: dead, record: rec }]);
    assert.equal(recordRunProcess(db, { id: c!.id, owner: 'not me' }, rec), false);
    assert.equal(recordRunProcess(db, { id: a!.id, owner: dead }, null), true);
    assert.deepEqual(orphanRecords(db), []);
    db.close();
  });

  it('a rule change re-scores user runs from their metric rows, nothing retrained; a run that never reported the metric is no_metric', () => {
    const built = buildUserDb((p, seed) => {
      if (seed === 4) return { epochs: [{ accuracy: 0.5 }, { accuracy: 0.6 }] };
      const final = p.hidden === 3 || seed === 1 ? 0.01 : 0.2;
      return { epochs: [{ loss: 0.4, accuracy: 0.5 }, { loss: 0.03, accuracy: 0.9 }, { loss: final, accuracy: final < 0.05 ? 1 : 0.75 }] };
    });
    const db = openDb(built.file);
    const outcomes = () => db.prepare(`SELECT json_extract(params_json, '$.hidden') AS h, seed, outcome, converged_epoch AS ce FROM runs ORDER BY id`).all();
    assert.deepEqual(outcomes(), [
      { h: 2, seed: 1, outcome: 'converged', ce: 2 }, { h: 2, seed: 2, outcome: 'not_converged', ce: null }, { h: 2, seed: 3, outcome: 'not_converged', ce: null }, { h: 2, seed: 4, outcome: 'no_metric', ce: null },
      { h: 3, seed: 1, outcome: 'converged', ce: 2 }, { h: 3, seed: 2, outcome: 'converged', ce: 2 }, { h: 3, seed: 3, outcome: 'converged', ce: 2 }, { h: 3, seed: 4, outcome: 'no_metric', ce: null },
    ]);
    const { spec, plan } = userSpecAndPlan({ rule: { metric: 'loss', threshold: 0.05, direction: 'below', at: 'best' } });
    const sync = syncPlan(db, built.file, spec, plan);
    assert.equal(sync.added, 0);
    assert.equal(sync.rescored?.runs, 8);
    // At its best epoch (0.03 at epoch 2) every run that reported loss converged.
    assert.deepEqual((outcomes() as { outcome: string }[]).map((r) => r.outcome), ['converged', 'converged', 'converged', 'no_metric', 'converged', 'converged', 'converged', 'no_metric']);
    const acc = userSpecAndPlan({ rule: { metric: 'accuracy', threshold: 0.8, direction: 'above' } });
    syncPlan(db, built.file, acc.spec, acc.plan);
    assert.deepEqual((outcomes() as { outcome: string }[]).map((r) => r.outcome), ['converged', 'not_converged', 'not_converged', 'not_converged', 'converged', 'converged', 'converged', 'not_converged']);
    assert.equal(db.prepare(`SELECT count(*) FROM epoch_metrics`).pluck().get(), 6 * 6 + 2 * 2, 'nothing retrained or rewritten');
    db.close();
  });

  it('a run finished under a rule another process has changed since is scored under the current rule', () => {
    const { db, file } = freshUserDb();
    const [r] = claimRuns(db, { owner: 'me', limit: 1, leaseSeconds: 60, retries: 0 });
    const claim = { id: r!.id, owner: 'me' };
    [{ accuracy: 0.5, loss: 0.3 }, { accuracy: 0.95, loss: 0.2 }].forEach((m, i) => recordUserEpoch(db, claim, { epoch: i + 1, metrics: m }, 0.1));
    // Meanwhile the sweep's rule became accuracy > 0.9.
    const next = userSpecAndPlan({ rule: { metric: 'accuracy', threshold: 0.9, direction: 'above' } });
    syncPlan(db, file, next.spec, next.plan);
    assert.equal(finishUserRun(db, claim, { outcome: 'not_converged', convergedEpoch: null, epochsRun: 2, seconds: 1, rule: RULE, code: CODE }), true);
    assert.deepEqual(db.prepare(`SELECT outcome, converged_epoch FROM runs WHERE id = ?`).get(r!.id), { outcome: 'converged', converged_epoch: 2 });
    assert.deepEqual(db.prepare(`SELECT name, best FROM run_metrics WHERE run_id = ? ORDER BY name`).all(r!.id), [{ name: 'accuracy', best: 0.95 }, { name: 'loss', best: 0.2 }],
      "best follows the current rule's direction, and is the lowest for a metric of unknown direction");
    db.close();
  });

  it('the views give every trainer one shape: metric_values, final_metrics and run_params', () => {
    const built = buildUserDb((_p, seed) => ({ epochs: [{ loss: 0.5 }, { loss: seed / 100 }] }), { grid: { hidden: [2] }, repeats: 2 });
    const db = openDb(built.file, { readonly: true });
    assert.deepEqual(db.prepare(`SELECT run_id, epoch, name, value FROM metric_values ORDER BY run_id, epoch`).all(), [
      { run_id: 1, epoch: 1, name: 'loss', value: 0.5 }, { run_id: 1, epoch: 2, name: 'loss', value: 0.01 },
      { run_id: 2, epoch: 1, name: 'loss', value: 0.5 }, { run_id: 2, epoch: 2, name: 'loss', value: 0.02 },
    ]);
    assert.deepEqual(db.prepare(`SELECT run_id, name, value FROM final_metrics ORDER BY run_id`).all(), [
      { run_id: 1, name: 'loss', value: 0.01 }, { run_id: 2, name: 'loss', value: 0.02 },
    ]);
    assert.deepEqual(db.prepare(`SELECT name, value FROM run_params WHERE run_id = 1 ORDER BY name`).all(), [
      { name: 'activation', value: 'sigmoid' }, { name: 'hidden', value: 2 }, { name: 'learning_rate', value: 0.5 },
    ]);
    db.close();
  });
});

describe('merging shards of a user sweep', () => {
  it('copies every run with its trainer columns, its metric rows and its final metrics', () => {
    const script = (_p: Record<string, unknown>, seed: number) => ({ epochs: [{ loss: 0.5, accuracy: 0.5 }, { loss: seed / 100, accuracy: 1 }], codeHash: `h${seed}` });
    const a = buildUserDb(script);
    const outFile = join(tempDir(), 'merged.db');
    const out = openDb(outFile);
    const input = openDb(a.file, { readonly: true });
    const res = mergeInto(out, outFile, [{ db: input, file: a.file }]);
    assert.equal(res.runsAdded, 8);
    const rows = (db: typeof out) => ({
      runs: db.prepare(`SELECT run_key, trainer, params_json, outcome, code_hash, command_line FROM runs ORDER BY run_key`).all(),
      metrics: db.prepare(`SELECT r.run_key, m.epoch, m.name, m.value FROM epoch_metrics m JOIN runs r ON r.id = m.run_id ORDER BY 1, 2, 3`).all(),
      finals: db.prepare(`SELECT r.run_key, f.name, f.final, f.best, f.best_epoch FROM run_metrics f JOIN runs r ON r.id = f.run_id ORDER BY 1, 2`).all(),
      sweep: db.prepare(`SELECT name, converged_metric, converged_direction FROM sweep`).get(),
    });
    assert.deepEqual(rows(out), rows(input));
    input.close();
    out.close();
  });
});
