import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { converge, convergeSync, oneLine, readRuns, sandbox, writeSpec } from '../reliability/harness';

/** A small real search: two boundaries (L = 20 and 30), 15 epochs, 40 runs at most each. */
export const SMALL_SEARCH = [
  'name: small-search',
  'seed: 1',
  'repeats: 4',
  'train: {epochs: 15}',
  'search:',
  '  axis: n_samples',
  '  for: {seq_len: [20, 30]}',
  '  range: [10, seq_len+1]',
  '  target: 0.5',
  '  precision: 0.25',
  '  budget: 40',
  '',
].join('\n');

interface BoundaryOut {
  for: Record<string, unknown>;
  estimate: number | null;
  ci_low: number | null;
  ci_high: number | null;
  bracketed: boolean;
  verdict: string;
  runs: number;
  probes: { value: number; k: number; n: number }[];
}

test('converge search --json gives one object per boundary with the evidence, and its runs are ordinary runs of the database', { timeout: 180_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SMALL_SEARCH);
  const r = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as BoundaryOut[];
  assert.deepEqual(out.map((b) => b.for), [{ seq_len: 20 }, { seq_len: 30 }]);
  const runs = readRuns(join(dir, 's.db'));
  for (const b of out) {
    for (const key of ['for', 'estimate', 'ci_low', 'ci_high', 'bracketed', 'runs', 'probes']) assert.ok(key in b, `field ${key}`);
    assert.ok(b.runs <= 40 && b.runs > 0);
    assert.ok(b.probes.reduce((n, p) => n + p.n, 0) <= b.runs, 'among: alive (the default) counts runs alive at initialisation');
    if (b.bracketed) assert.ok(b.ci_low! < b.estimate! && b.estimate! < b.ci_high!, JSON.stringify(b));
    else assert.ok(['above', 'below', 'undetermined'].includes(b.verdict));
  }
  assert.equal(runs.length, out.reduce((n, b) => n + b.runs, 0), 'every run of the search is in the database');
  assert.ok(runs.every((x) => x.status === 'done' && x.in_plan === 1));
  // The evidence agrees with what the database says per cell.
  const q = convergeSync(dir, ['query', 's.db', '--sql', "select seq_len, n_samples, sum(alive_at_init = 1) as n, sum(outcome = 'converged' and alive_at_init = 1) as k from runs group by 1, 2", '--format', 'json']);
  assert.equal(q.code, 0, q.stderr);
  const cells = JSON.parse(q.stdout) as { seq_len: number; n_samples: number; n: number; k: number }[];
  for (const b of out) {
    for (const p of b.probes) {
      const c = cells.find((x) => x.seq_len === b.for.seq_len && x.n_samples === p.value);
      assert.ok(c && c.n === p.n && c.k === p.k, `${JSON.stringify(b.for)} N=${p.value}: ${p.k}/${p.n} vs ${JSON.stringify(c)}`);
    }
  }
  const report = convergeSync(dir, ['report', 's.db', '--format', 'json']);
  assert.equal(report.code, 0, report.stderr);
  const html = convergeSync(dir, ['report', 's.db', '--format', 'html', '--out', 'r.html']);
  assert.equal(html.code, 0, html.stderr);
  const page = readFileSync(join(dir, 'r.html'), 'utf8');
  assert.match(page, /<figure id="boundary"><svg/);
  for (const b of out) {
    const label = `seq_len=${String(b.for.seq_len)}: `;
    assert.ok(page.includes(label), `a note for ${label}`);
    if (b.bracketed) assert.ok(page.includes(`${label}n_samples at rate 0.5`), 'the estimate is in the note');
  }
  // The same command again trains nothing and gives the same answer.
  const again = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout), out);
  assert.equal(readRuns(join(dir, 's.db')).length, runs.length);
});

const BAD: { name: string; search: string[]; extra?: string[]; code: string; message: RegExp }[] = [
  { name: 'a search axis that is not integer-valued', search: ['  axis: learning_rate', '  range: [10, seq_len+1]'], code: 'spec.invalid', message: /search\.axis: "learning_rate" is not integer-valued/ },
  { name: 'a range outside the impossible-cell limit', search: ['  axis: n_samples', '  range: [10, seq_len+2]'], code: 'spec.impossibleCell', message: /search\.range: n_samples=22 is an impossible cell: .*must stay within \[10, 21\]/ },
  { name: 'a range below the smallest possible cell', search: ['  axis: n_samples', '  range: [2, seq_len+1]'], code: 'spec.impossibleCell', message: /n_samples=2 is an impossible cell: .*no validation row/ },
  { name: 'a target outside (0, 1)', search: ['  axis: n_samples', '  range: [10, seq_len+1]', '  target: 1'], code: 'spec.invalid', message: /search\.target: expected a number < 1, got 1/ },
  { name: 'a budget below the seeds of one probe', search: ['  axis: n_samples', '  range: [10, seq_len+1]', '  budget: 3'], code: 'spec.invalid', message: /search\.budget: expected at least the 4 seeds a probe starts with \(repeats\), got 3/ },
];

for (const c of BAD) {
  test(`converge search refuses ${c.name}: one line, exit 2, nothing written`, (t) => {
    const dir = sandbox(t);
    writeSpec(dir, 'bad.yaml', ['name: bad', 'repeats: 4', 'data: {seq_len: 20}', 'search:', ...c.search, ''].join('\n'));
    const r = convergeSync(dir, ['search', 'bad.yaml', '--db', 'bad.db']);
    assert.equal(r.code, 2, r.stderr);
    const line = oneLine(r.stderr);
    assert.ok(line.endsWith(`[${c.code}]`), line);
    assert.match(line, c.message);
    assert.ok(line.includes('bad.yaml:'), `names the file and line: ${line}`);
    assert.equal(existsSync(join(dir, 'bad.db')), false, 'no database created');
    assert.deepEqual(readdirSync(dir).sort(), ['bad.yaml']);
  });
}

test('converge run refuses a spec with a search block and names the command to use', (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SMALL_SEARCH);
  const r = convergeSync(dir, ['run', 's.yaml', '--db', 's.db']);
  assert.equal(r.code, 2);
  assert.match(oneLine(r.stderr), /use|converge search s\.yaml/);
  assert.equal(existsSync(join(dir, 's.db')), false);
});

test('adaptive repeats in a real sweep: cells grow by batches of min up to max, and a rerun adds nothing', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 'a.yaml', ['name: a', 'seed: 1', 'repeats: {min: 3, max: 9, until: {ci_width: 0.5}}', 'data: {seq_len: 20}', 'train: {epochs: 10}', 'grid:', '  n_samples: [10, 21]', ''].join('\n'));
  const r = await converge(t, dir, ['run', 'a.yaml', '--db', 'a.db', '--workers', '2', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const runs = readRuns(join(dir, 'a.db'));
  // Wilson width at n <= 9 is always above 0.5 unless k is 0 or n: with ci_width 0.5 every cell
  // needs more than 3 seeds, so each grows to 6 or 9; seeds are 1, 2, 3, … in every cell.
  const q = convergeSync(dir, ['query', 'a.db', '--sql', 'select n_samples, count(*) as n, max(seed) as top from runs group by 1', '--format', 'json']);
  const cells = JSON.parse(q.stdout) as { n_samples: number; n: number; top: number }[];
  for (const c of cells) {
    assert.ok(c.n === 6 || c.n === 9, `cell N=${c.n_samples} has ${c.n} seeds`);
    assert.equal(c.top, c.n, 'seeds 1..n, no gap');
  }
  const again = await converge(t, dir, ['run', 'a.yaml', '--db', 'a.db', '--quiet', '--json']);
  assert.equal(again.code, 0, again.stderr);
  assert.equal((JSON.parse(again.stdout) as { trained: number }).trained, 0);
  assert.equal(readRuns(join(dir, 'a.db')).length, runs.length);
});

test('converge search --set overrides spec keys as run does; a bad one is refused with one line and nothing written', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SMALL_SEARCH);
  const bad = convergeSync(dir, ['search', 's.yaml', '--db', 'bad.db', '--set', 'search.budgett=8']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(oneLine(bad.stderr), /budgett/);
  assert.equal(existsSync(join(dir, 'bad.db')), false, 'no database created');
  const r = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '2', '--json', '--set', 'search.budget=8', '--set', 'train.epochs=3', '--set', 'search.for={seq_len: [20]}']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as BoundaryOut[];
  assert.deepEqual(out.map((b) => b.for), [{ seq_len: 20 }], 'one boundary: search.for overridden');
  assert.ok(out[0]!.runs <= 8 && out[0]!.runs > 0, `budget 8: ${out[0]!.runs} runs`);
  const runs = readRuns(join(dir, 's.db'));
  assert.equal(runs.length, out[0]!.runs);
  assert.ok(runs.every((x) => x.epochs === 3 && x.recorded === 3), 'every run trained and recorded the overridden 3 epochs');
  const q = convergeSync(dir, ['query', 's.db', '--sql', 'select distinct seq_len from runs', '--format', 'json']);
  assert.deepEqual(JSON.parse(q.stdout), [{ seq_len: 20 }]);
});

test('converge plan on a search spec lists each boundary and the opening design the search then trains, writing nothing', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SMALL_SEARCH);
  // A budget of exactly the opening design (5 probes × 4 seeds): the search trains that and stops.
  const set = ['--set', 'search.budget=20', '--set', 'train.epochs=3'];
  const p = convergeSync(dir, ['plan', 's.yaml', '--json', ...set]);
  assert.equal(p.code, 0, p.stderr);
  assert.deepEqual(readdirSync(dir).sort(), ['s.yaml'], 'plan writes nothing');
  const plan = JSON.parse(p.stdout) as {
    search: boolean; axis: string; opening_runs: number; max_runs: number; estimated_seconds_opening: number; estimated_seconds_max: number;
    boundaries: { for: { seq_len: number }; range: [number, number]; budget: number; opening: { value: number; seeds: number }[] }[];
  };
  assert.equal(plan.search, true);
  assert.equal(plan.axis, 'n_samples');
  assert.deepEqual(plan.boundaries.map((b) => [b.for.seq_len, b.range, b.budget]), [[20, [10, 21], 20], [30, [10, 31], 20]]);
  assert.equal(plan.opening_runs, 40);
  assert.equal(plan.max_runs, 40);
  assert.ok(plan.estimated_seconds_opening > 0 && plan.estimated_seconds_opening <= plan.estimated_seconds_max);
  const text = convergeSync(dir, ['plan', 's.yaml', ...set]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^search small-search: 2 boundaries along n_samples \(rate 0\.5\); the opening design is 40 runs, the budget at most 40$/m);
  assert.match(text.stdout, /^seq_len=20 +\[10, 21\] +10×4, /m);
  assert.match(text.stdout, /estimated time: the opening design ~/);
  const r = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '2', '--quiet', ...set]);
  assert.equal(r.code, 0, r.stderr);
  const q = convergeSync(dir, ['query', 's.db', '--sql', 'select seq_len, n_samples, count(*) as n from runs group by 1, 2 order by 1, 2', '--format', 'json']);
  const trained = JSON.parse(q.stdout) as { seq_len: number; n_samples: number; n: number }[];
  const planned = plan.boundaries.flatMap((b) => b.opening.map((o) => ({ seq_len: b.for.seq_len, n_samples: o.value, n: o.seeds })));
  assert.deepEqual(trained, planned, 'the search trained exactly the planned opening design');
});

test('converge search --shard: shards on their own databases merge into the unsharded answers, and shards sharing one database leave each other alone', { timeout: 240_000 }, async (t) => {
  const dir = sandbox(t);
  writeSpec(dir, 's.yaml', SMALL_SEARCH);
  // The opening design (20 runs) plus two adaptive rounds of 4 seeds per boundary.
  const set = ['--set', 'search.budget=28'];
  const search = async (db: string, extra: string[] = []) => {
    const r = await converge(t, dir, ['search', 's.yaml', '--db', db, '--workers', '1', '--json', ...set, ...extra]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as BoundaryOut[];
  };
  const whole = await search('u.db');
  assert.equal(whole.length, 2);
  assert.ok(whole.some((x) => x.probes.some((p) => p.k > 0)), `some probe converges: ${JSON.stringify(whole)}`);
  const [a, b] = await Promise.all([search('a.db', ['--shard', '1/2']), search('b.db', ['--shard', '2/2'])]);
  assert.deepEqual(a.map((x) => x.for), [{ seq_len: 20 }], 'shard 1/2: the first boundary');
  assert.deepEqual(b.map((x) => x.for), [{ seq_len: 30 }], 'shard 2/2: the second');
  assert.deepEqual([...a, ...b], whole, 'the shards answer exactly as the unsharded search');
  const m = convergeSync(dir, ['merge', 'm.db', 'a.db', 'b.db']);
  assert.equal(m.code, 0, m.stderr);
  const before = readRuns(join(dir, 'm.db')).length;
  assert.deepEqual(await search('m.db'), whole, 'the merged database answers for every boundary');
  assert.equal(readRuns(join(dir, 'm.db')).length, before, 'and trains nothing more');
  // Two shards at once on one database: each trains its boundary only, none retires the other's runs.
  const [sa, sb] = await Promise.all([search('shared.db', ['--shard', '1/2']), search('shared.db', ['--shard', '2/2'])]);
  assert.deepEqual([...sa, ...sb], whole);
  const shared = readRuns(join(dir, 'shared.db'));
  assert.equal(shared.length, whole.reduce((n, x) => n + x.runs, 0));
  assert.ok(shared.every((r) => r.in_plan === 1 && r.status === 'done'), 'every run in the plan and done');
  const bad = convergeSync(dir, ['search', 's.yaml', '--db', 'x.db', '--shard', '3/2']);
  assert.equal(bad.code, 2);
  assert.match(oneLine(bad.stderr), /--shard must be i\/N/);
  assert.equal(existsSync(join(dir, 'x.db')), false);
});
