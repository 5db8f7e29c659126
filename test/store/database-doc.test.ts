import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { cellKey, summarizeCells } from '../../src/report';
import { openDb, readEpochs, readRuns, readSweep } from '../../src/store';
import { buildDb } from '../cli/synthetic-db';
import { ROOT } from '../helpers';
import { buildUserDb } from './user-db';

/** The queries of docs/database.md, by the name in the comment above each. */
function docQueries(): Record<string, string> {
  const text = readFileSync(join(ROOT, 'docs', 'database.md'), 'utf8');
  const out: Record<string, string> = {};
  for (const m of text.matchAll(/<!-- query: ([\w-]+) -->\n```sql\n([\s\S]*?)```/g)) out[m[1]!] = m[2]!;
  return out;
}

const Q = docQueries();

function builtinDb(): string {
  const { file } = buildDb('name: b\nseed: 1\nrepeats: 5\ndata: {seq_len: 12}\ntrain: {epochs: 2}\ngrid:\n  n_samples: [10, 13]\n', (p, seed) => (p.n_samples === 10 ? seed <= 2 : seed >= 2), 'b.db', {
    curve: (_p, seed, c) => (c ? [0.2, 0.01 + seed / 1000] : [0.3, 0.2 + seed / 100]),
  });
  // One failed run: out of n.
  const db = new Database(file);
  db.prepare(`UPDATE runs SET status = 'failed', outcome = 'failed' WHERE id = 3`).run();
  db.close();
  return file;
}

function userDb(): string {
  return buildUserDb((p, seed) => {
    if (seed === 4) return { epochs: [{ accuracy: 0.5 }] };
    if (seed === 3 && p.hidden === 3) return { epochs: [{ loss: 1 }], fails: 'boom' };
    return { epochs: [{ loss: 0.4, accuracy: 0.5 }, { loss: p.hidden === 3 || seed === 1 ? 0.01 * seed : 0.3, accuracy: 0.9 }] };
  }).file;
}

/** What the readers say, per cell key: converged and n (report), and each run's final value of `metric`, and its epochs. */
function readersOf(file: string) {
  const db = openDb(file, { readonly: true });
  const sweep = readSweep(db, file);
  const runs = readRuns(db);
  const cells = summarizeCells({ sweepName: sweep.name, axes: sweep.axes, runs, metric: sweep.metric, threshold: sweep.threshold, ...(sweep.trainer !== 'builtin' ? { trainer: sweep.trainer } : {}) });
  const epochs = readEpochs(db);
  db.close();
  return { sweep, runs, cells, epochs };
}

function run(file: string, sql: string, params: Record<string, unknown> = {}): Record<string, unknown>[] {
  // Read-only, as a sqlite3 user reading a database in use would.
  const db = new Database(file, { readonly: true });
  try {
    return db.prepare(sql).all(params) as Record<string, unknown>[];
  } finally {
    db.close();
  }
}

describe('the three queries of docs/database.md, on a built-in and on a user-trainer database', () => {
  assert.deepEqual(Object.keys(Q).sort(), ['best-runs', 'rate-per-cell', 'run-curve']);

  for (const [kind, make] of [['built-in', builtinDb], ['user-trainer', userDb]] as const) {
    const file = make();
    const r = readersOf(file);

    it(`rate per cell gives report's k and n on the ${kind} database`, () => {
      const rows = run(file, Q['rate-per-cell']!) as { cell: string; converged: number; n: number; rate: number | null; not_in_n: number }[];
      const bySql = new Map(rows.map((x) => [cellKey(r.sweep.axes, JSON.parse(x.cell) as never), [x.converged, x.n, x.not_in_n]]));
      const byReport = new Map(r.cells.map((c) => [c.key, [c.converged, c.n, c.runs - c.n]]));
      assert.deepEqual(bySql, byReport);
      assert.ok(rows.some((x) => x.not_in_n > 0), 'some run is out of n');
      for (const x of rows) assert.equal(x.rate, x.n > 0 ? Math.round((1000 * x.converged) / x.n) / 1000 : null);
    });

    it(`one run's curve gives every stored value of every metric on the ${kind} database`, () => {
      const id = r.runs.find((x) => x.status === 'done')!.id;
      const rows = run(file, Q['run-curve']!, { run_id: id }) as { epoch: number; name: string; value: number | null }[];
      const metric = r.sweep.metric;
      const stored = r.epochs.filter((e) => e.runId === id);
      const value = (e: (typeof stored)[number]) => (e.extra ? e.extra[metric] : (e as unknown as Record<string, number | null>)[metric === 'pop_mae' ? 'popMae' : metric]);
      assert.deepEqual(rows.filter((x) => x.name === metric).map((x) => [x.epoch, x.value]), stored.map((e) => [e.epoch, value(e) ?? null]));
      assert.ok(new Set(rows.map((x) => x.name)).size >= 2);
    });

    it(`the best runs by a final metric come in order of that value on the ${kind} database`, () => {
      const metric = r.sweep.metric;
      const rows = run(file, Q['best-runs']!, { metric }) as { id: number; final: number }[];
      const expected = r.runs
        .filter((x) => x.status === 'done' && typeof x.finalMetrics?.[metric] === 'number')
        .sort((a, b) => a.finalMetrics![metric]! - b.finalMetrics![metric]! || a.id - b.id)
        .slice(0, 10)
        .map((x) => [x.id, x.finalMetrics![metric]]);
      assert.ok(expected.length >= 3);
      assert.deepEqual(rows.map((x) => [x.id, x.final]), expected);
    });
  }
});
