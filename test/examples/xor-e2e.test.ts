import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers';
import { converge, convergeSync, oneLine, sandbox, withDb } from '../reliability/harness';
import { SWEEP_SEEDS, collectingContext, convergedRuns, importExample } from './xor-module';

/**
 * examples/xor through the real `converge` CLI, as the README runs it: the module and the Python
 * sweep files, report, compare (paired by seed), search, resume. The expected counts come from
 * calling xor.mjs's train() directly, so the CLI must record and score exactly what it reports.
 */

const XOR = join(ROOT, 'examples', 'xor');
const CELLS = [2, 3, 4].flatMap((hidden) => [0.5, 2].map((learning_rate) => ({ hidden, learning_rate })));
const cellName = (c: { hidden: number; learning_rate: number }) => `hidden=${c.hidden} learning_rate=${c.learning_rate}`;

/** Final loss per seed of each cell of the sweep files, from xor.mjs called directly at its defaults. */
async function directFinalLosses(): Promise<Map<string, number[]>> {
  const xor = await importExample('xor', 'xor.mjs');
  const out = new Map<string, number[]>();
  for (const c of CELLS) {
    const losses: number[] = [];
    for (const seed of SWEEP_SEEDS) {
      const { ctx, epochs } = collectingContext(seed);
      await xor.train({ ...c, epochs: 1000, report_every: 1 }, ctx);
      losses.push(epochs.at(-1)!.metrics.loss!);
    }
    out.set(cellName(c), losses);
  }
  return out;
}

interface CellCount {
  hidden: number;
  learning_rate: number;
  k: number;
  n: number;
}

/** k/n per cell with plain SQL on the declared parameters (params_json), as a sqlite3 user would. */
function countsOf(file: string): Map<string, CellCount> {
  const rows = withDb(file, (db) =>
    db
      .prepare(
        `SELECT json_extract(params_json, '$.hidden') AS hidden, json_extract(params_json, '$.learning_rate') AS learning_rate,
           sum(outcome = 'converged') AS k, count(*) AS n
         FROM runs GROUP BY 1, 2`,
      )
      .all() as CellCount[],
  );
  return new Map(rows.map((r) => [cellName(r), r]));
}

describe('examples/xor through the converge CLI (needs the spec, store and execution parts of issue 18)', () => {
  it('converge run examples/xor/module.yaml trains 6 cells × 20 seeds and records, scores and reports exactly what xor.mjs reports', { timeout: 300_000 }, async (t) => {
    const dir = sandbox(t);
    const db = join(dir, 'module.db');
    const r = await converge(t, ROOT, ['run', join(XOR, 'module.yaml'), '--db', db, '--workers', '2']);
    assert.equal(r.code, 0, r.stderr);

    const runs = withDb(db, (d) => d.prepare(`SELECT id, seed, status, trainer, code_hash, params_json FROM runs ORDER BY id`).all()) as { id: number; seed: number; status: string; trainer: string; code_hash: string | null; params_json: string }[];
    assert.equal(runs.length, 120);
    for (const run of runs) {
      assert.equal(run.status, 'done');
      assert.equal(run.trainer, 'module');
      assert.ok(run.code_hash, 'the module file is hashed on every run');
      assert.deepEqual(Object.keys(JSON.parse(run.params_json) as object).sort(), ['epochs', 'hidden', 'learning_rate', 'report_every'], 'every declared parameter, resolved');
    }

    const direct = await directFinalLosses();
    const counts = countsOf(db);
    for (const c of CELLS) {
      const got = counts.get(cellName(c));
      assert.deepEqual({ k: got?.k, n: got?.n }, { k: convergedRuns(direct.get(cellName(c))!), n: 20 }, cellName(c));
    }

    // One run's curve and final value, through the views that work for any trainer.
    const one = withDb(db, (d) => {
      const id = (d.prepare(`SELECT id FROM runs WHERE json_extract(params_json, '$.hidden') = 2 AND json_extract(params_json, '$.learning_rate') = 2 AND seed = 1`).get() as { id: number }).id;
      return {
        epochs: (d.prepare(`SELECT count(*) AS n FROM metric_values WHERE run_id = ? AND name = 'loss'`).get(id) as { n: number }).n,
        final: (d.prepare(`SELECT value FROM final_metrics WHERE run_id = ? AND name = 'loss'`).get(id) as { value: number }).value,
        params: d.prepare(`SELECT name, value FROM run_params WHERE run_id = ? ORDER BY name`).all(id) as { name: string; value: unknown }[],
      };
    });
    assert.equal(one.epochs, 1000);
    assert.equal(one.final, direct.get('hidden=2 learning_rate=2')![0]);
    assert.deepEqual(
      one.params.map((p) => p.name),
      ['epochs', 'hidden', 'learning_rate', 'report_every'],
    );

    // report: the same k/n per cell, labelled by the declared parameters.
    const table = convergeSync(ROOT, ['report', db]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /hidden/);
    assert.match(table.stdout, /learning_rate/);
    const json = convergeSync(ROOT, ['report', db, '--format', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const cells = JSON.parse(json.stdout) as { params: { hidden: number; learning_rate: number }; converged: number; n: number }[];
    assert.equal(cells.length, 6);
    for (const cell of cells) {
      const expected = counts.get(cellName(cell.params))!;
      assert.deepEqual({ k: cell.converged, n: cell.n }, { k: expected.k, n: expected.n }, cellName(cell.params));
    }

    // compare: H=2 against H=4 at learning rate 2, paired by seed.
    const cmp = convergeSync(ROOT, ['compare', db, '--a', 'hidden=2', '--b', 'hidden=4', '--where', 'learning_rate=2', '--json']);
    assert.equal(cmp.code, 0, cmp.stderr);
    const c = JSON.parse(cmp.stdout) as { pairs: number | null; a: { k: number; n: number }; b: { k: number; n: number } };
    assert.equal(c.pairs, 20, 'paired by seed');
    assert.deepEqual(c.a, { ...c.a, k: counts.get('hidden=2 learning_rate=2')!.k, n: 20 });
    assert.deepEqual(c.b, { ...c.b, k: 20, n: 20 });

    // The same command again trains nothing.
    const before = withDb(db, (d) => d.prepare(`SELECT id, attempts, finished_at FROM runs ORDER BY id`).all());
    const again = await converge(t, ROOT, ['run', join(XOR, 'module.yaml'), '--db', db, '--workers', '2']);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(
      withDb(db, (d) => d.prepare(`SELECT id, attempts, finished_at FROM runs ORDER BY id`).all()),
      before,
    );
  });

  it('converge run examples/xor/python.yaml trains the same grid with train.py and gets rates within 4 of 20 of the module in every cell', { timeout: 600_000 }, async (t) => {
    const dir = sandbox(t);
    const db = join(dir, 'python.db');
    const r = await converge(t, ROOT, ['run', join(XOR, 'python.yaml'), '--db', db, '--workers', '2']);
    assert.equal(r.code, 0, r.stderr);
    const runs = withDb(db, (d) => d.prepare(`SELECT status, trainer, code_hash, command_line, log_path FROM runs`).all()) as { status: string; trainer: string; code_hash: string | null; command_line: string; log_path: string | null }[];
    assert.equal(runs.length, 120);
    for (const run of runs) {
      assert.equal(run.status, 'done');
      assert.equal(run.trainer, 'command');
      assert.ok(run.code_hash, "train.py's content is hashed on every run");
      assert.match(run.command_line, /train\.py --hidden \d --lr [\d.]+ --epochs 1000 --seed \d+/);
      assert.ok(run.log_path && existsSync(run.log_path), 'the run keeps its output log');
    }
    const direct = await directFinalLosses();
    const counts = countsOf(db);
    for (const c of CELLS) {
      const py = counts.get(cellName(c))!;
      const js = convergedRuns(direct.get(cellName(c))!);
      assert.equal(py.n, 20);
      assert.ok(Math.abs(py.k - js) <= 4, `${cellName(c)}: ${py.k} of 20 in Python, ${js} of 20 in the module`);
    }
    const epochs = withDb(db, (d) => d.prepare(`SELECT count(*) AS n FROM metric_values WHERE name = 'accuracy'`).get()) as { n: number };
    assert.equal(epochs.n, 120 * 1000);
  });

  it('converge search examples/xor/search.yaml finds, per learning rate, the hidden size where half the runs learn XOR', { timeout: 300_000 }, async (t) => {
    const dir = sandbox(t);
    const r = await converge(t, ROOT, ['search', join(XOR, 'search.yaml'), '--db', join(dir, 'search.db'), '--workers', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { for: { learning_rate: number }; estimate: number | null; bracketed: boolean; runs: number; probes: { value: number; k: number; n: number }[] }[];
    assert.deepEqual(
      out.map((b) => b.for),
      [{ learning_rate: 0.5 }, { learning_rate: 2 }],
    );
    for (const b of out) {
      assert.ok(b.runs > 0 && b.runs <= 200);
      // One hidden unit cannot represent XOR: never converged; four almost always do.
      for (const p of b.probes) if (p.value === 1) assert.equal(p.k, 0);
      if (b.bracketed) assert.ok(b.estimate! > 1 && b.estimate! < 4, JSON.stringify(b));
    }
  });

  it('--set narrows the module sweep by its declared parameters; a misspelled one is refused with one line, exit 2, nothing written', { timeout: 120_000 }, async (t) => {
    const dir = sandbox(t);
    const ok = await converge(t, ROOT, ['run', join(XOR, 'module.yaml'), '--db', join(dir, 'small.db'), '--set', 'grid.hidden=[3]', '--set', 'repeats=2', '--set', 'grid.learning_rate=[2]']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      withDb(join(dir, 'small.db'), (d) => d.prepare(`SELECT json_extract(params_json, '$.hidden') AS hidden, seed FROM runs ORDER BY seed`).all()),
      [
        { hidden: 3, seed: 1 },
        { hidden: 3, seed: 2 },
      ],
    );
    const bad = convergeSync(ROOT, ['run', join(XOR, 'module.yaml'), '--db', join(dir, 'bad.db'), '--set', 'grid.hiden=[3]']);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(oneLine(bad.stderr), /hiden.*hidden/);
    assert.equal(existsSync(join(dir, 'bad.db')), false);
  });
});
