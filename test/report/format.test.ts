import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatCells, summarizeCells } from '../../src/report';
import type { CellSummary, Outcome, ParamValue, RunRow } from '../../src/report';

let nextId = 1;
function run(params: Record<string, ParamValue>, outcome: Outcome, valMae = outcome === 'converged' ? 0.012 : 0.25): RunRow {
  const id = nextId++;
  return {
    id, runKey: `k${id}`, seed: id, params, status: outcome === 'failed' ? 'failed' : 'done', outcome,
    finalValMae: valMae, finalLoss: 0.1, convergedEpoch: outcome === 'converged' ? 17 : null, epochsRun: 50, seconds: 1,
  };
}
const AXES = ['kernel_initializer', 'n_samples'];
function cells(): CellSummary[] {
  const runs: RunRow[] = [];
  const a = { kernel_initializer: 'orthogonal', n_samples: 80 };
  const b = { kernel_initializer: 'variance_scaling, "fan_in"', n_samples: 130 }; // a value that needs CSV quoting
  for (let i = 0; i < 3; i++) runs.push(run(a, 'converged'));
  for (let i = 0; i < 6; i++) runs.push(run(a, 'not_converged'));
  runs.push(run(a, 'dead'));
  for (let i = 0; i < 9; i++) runs.push(run(b, 'converged'));
  runs.push(run(b, 'diverged', NaN));
  return summarizeCells({ sweepName: 's', axes: AXES, runs, threshold: 0.05, metric: 'val_mae' });
}

/** A strict RFC 4180 reader, enough to prove the CSV parses back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (ch === '"' && field === '') {
      i++;
      for (;;) {
        if (text[i] === '"' && text[i + 1] === '"') { field += '"'; i += 2; }
        else if (text[i] === '"') { i++; break; }
        else { assert.ok(i < text.length, 'unterminated quote'); field += text[i]; i++; }
      }
    } else if (ch === ',') { row.push(field); field = ''; i++; }
    else if (ch === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; }
    else { assert.notEqual(ch, '\n', 'bare LF inside a record'); field += ch; i++; }
  }
  assert.equal(field + row.join(''), '', 'the last record ends with CRLF');
  return rows;
}

test('csv parses back into a header and one record per cell with raw numbers', () => {
  const rows = parseCsv(formatCells(cells(), AXES, 'csv'));
  const [header, ...records] = rows;
  assert.ok(header);
  assert.deepEqual(header.slice(0, 9), ['kernel_initializer', 'n_samples', 'runs', 'done', 'converged', 'n', 'rate', 'ci_low', 'ci_high']);
  assert.equal(records.length, 2);
  const rec = (i: number): Record<string, string> => Object.fromEntries(header.map((h, j) => [h, records[i]![j]!]));
  assert.ok(records.every((r) => r.length === header.length));
  assert.equal(rec(0).n_samples, '80');
  assert.equal(rec(0).converged, '3');
  assert.equal(rec(0).rate, '0.3');
  assert.equal(rec(0).converged_epoch_median, '17');
  assert.equal(rec(1).kernel_initializer, 'variance_scaling, "fan_in"', 'a comma and quotes survive the round trip');
  assert.equal(rec(1).outcome_diverged, '1');
  assert.equal(new Set(header).size, header.length, `unique column names: ${header.join(',')}`);
  // Full precision: the Wilson bound of 3/10 reads back as the same double.
  assert.equal(Number(rec(0).ci_low), cells()[0]!.ci.lo);
  assert.notEqual(rec(0).ci_low!.length, 6, 'not rounded to a few digits');
});

test('table and md print the same header lines above the table; csv and json carry none', () => {
  const header = ['sweep: s: what it settles', 'rule: a run converged when its pop_mae is below 0.05 at its last epoch', 'fixed: epochs=50 units=10'];
  const table = formatCells(cells(), AXES, 'table', header).split('\n');
  assert.deepEqual(table.slice(0, 4), [...header, '']);
  const md = formatCells(cells(), AXES, 'md', header).split('\n');
  assert.deepEqual(md.slice(0, md.findIndex((l) => l.startsWith('|'))).filter((l) => l !== ''), header);
  assert.ok(formatCells(cells(), AXES, 'csv', header).startsWith('kernel_initializer,'));
  assert.ok(formatCells(cells(), AXES, 'json', header).startsWith('['));
});

test('json is an array of cells with stable snake_case field names', () => {
  const parsed = JSON.parse(formatCells(cells(), AXES, 'json')) as Record<string, unknown>[];
  assert.equal(parsed.length, 2);
  const c = parsed[0]!;
  for (const key of ['params', 'runs', 'converged', 'n', 'rate', 'ci_low', 'ci_high', 'outcomes', 'val_mae_median', 'val_mae_q1', 'val_mae_q3', 'converged_epoch_median']) {
    assert.ok(key in c, `missing ${key}`);
  }
  assert.deepEqual(c.params, { kernel_initializer: 'orthogonal', n_samples: 80 });
  assert.equal(c.converged, 3);
  assert.equal(c.n, 10);
  assert.deepEqual(c.outcomes, { converged: 3, not_converged: 6, dead_at_init: 0, dead: 1, diverged: 0, no_metric: 0, failed: 0, timed_out: 0 });
});

test('markdown has a header separator row and one row per cell, then the alive-at-init legend', () => {
  const [table, legend] = formatCells(cells(), AXES, 'md').trimEnd().split('\n\n');
  assert.match(legend!, /^\(alive at init\): among the runs whose ReLU output was not dead before the first update/);
  const lines = table!.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^\| kernel_initializer \| n_samples \| runs \| converged \|/);
  assert.match(lines[1]!, /^\|(:?---:?\|)+$/);
  assert.match(lines[2]!, /\| 3\/10 \| 0\.30 \| \[0\.11, 0\.60\] \|/);
});

test('the terminal table aligns every column; the alive-at-init legend follows it after a blank line', () => {
  const [table, legend, ...rest] = formatCells(cells(), AXES, 'table').trimEnd().split('\n\n');
  assert.deepEqual(rest, []);
  assert.match(legend!, /^\(alive at init\): .* a run dead at init gets zero gradients and never trains/);
  const lines = table!.split('\n');
  assert.equal(lines.length, 4);
  assert.match(lines[1]!, /^-+( +-+)+$/);
  // Right-aligned columns: every value ends in the same column as its header and its rule.
  const end = lines[0]!.indexOf('converged') + 'converged'.length;
  assert.equal(lines[1]![end - 1], '-');
  assert.equal(lines[1]![end], ' ');
  assert.match(lines[2]!.slice(0, end), / 3\/10$/);
  assert.match(lines[3]!.slice(0, end), / 9\/10$/);
  assert.ok(lines[2]!.startsWith('orthogonal '), 'string axes are left-aligned');
  assert.match(lines[2]!, /\[0\.11, 0\.60\]/);
  // Table cells write values as cell keys do: quoted when they need it.
  assert.ok(lines[3]!.startsWith('"variance_scaling, \\"fan_in\\""  '), lines[3]);
});

test('cells without values print a dash, not NaN or null', () => {
  const empty = summarizeCells({ sweepName: 's', axes: ['n_samples'], threshold: 0.05, metric: 'val_mae', runs: [
    { id: 1, runKey: 'x', seed: 1, params: { n_samples: 5 }, status: 'pending', outcome: null, finalValMae: null, finalLoss: null, convergedEpoch: null, epochsRun: null, seconds: null },
  ] });
  const table = formatCells(empty, ['n_samples'], 'table');
  assert.doesNotMatch(table, /NaN|null|undefined/);
  assert.match(table, /0\/0 +–/);
});
