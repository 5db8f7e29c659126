import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { runCli } from '../helpers';
import { buildDb } from './synthetic-db';

/** 10 seeds (1–10) at n_samples=80, where seeds 1–3 converge, and at 130, where seeds 2–10 converge. */
function syntheticDb(): { dir: string; file: string } {
  return buildDb('name: syn\nseed: 1\nrepeats: 10\ndata: {seq_len: 200}\ngrid:\n  n_samples: [80, 130]\n', (p, seed) => (p.n_samples === 80 ? seed <= 3 : seed >= 2));
}

/** The two-sided exact binomial p at 1/2 for x of m, from exact integer binomial coefficients. */
function exactBinomialP(x: number, m: number): number {
  const choose: bigint[] = [1n];
  for (let i = 1; i <= m; i++) choose.push((choose[i - 1]! * BigInt(m - i + 1)) / BigInt(i));
  let num = 0n;
  for (const c of choose) if (c <= choose[x]!) num += c;
  return Math.min(1, Number((num * 10n ** 15n) / (1n << BigInt(m))) / 1e15);
}

/** Two-sided Fisher exact p for [[3,7],[9,1]], by the hypergeometric formula, independently of src/. */
function referenceFisher(): number {
  const choose = (n: number, k: number): number => {
    let r = 1;
    for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
    return r;
  };
  // Margins: row sums 10 and 10, first-column sum 12, total 20. P(a) = C(10,a)·C(10,12-a)/C(20,12).
  const p = (a: number) => (choose(10, a) * choose(10, 12 - a)) / choose(20, 12);
  const observed = p(3);
  let sum = 0;
  for (let a = 2; a <= 10; a++) if (p(a) <= observed * (1 + 1e-7)) sum += p(a);
  return sum;
}

interface CompareJson {
  test: string; pairs: number | null; discordant_ab: number | null; discordant_ba: number | null; p_value: number;
  difference: number; difference_ci_low: number; difference_ci_high: number;
  a: { k: number; n: number; rate: number; ci_low: number; ci_high: number }; b: { k: number; n: number; rate: number; ci_low: number; ci_high: number };
  settings_differ?: { name: string; a: unknown[]; b: unknown[] }[];
}

describe('compare and query on a real database', () => {
  it('compare --json pairs runs by seed: exact McNemar p equals the exact binomial on the discordant counts (plain SQL)', () => {
    const { file } = syntheticDb();
    const r = runCli(['compare', file, '--a', 'n_samples=80', '--b', 'n_samples=130', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as CompareJson;
    assert.equal(c.test, 'mcnemar_exact');
    // The discordant counts, recounted from the file with plain SQL.
    const db = new Database(file, { readonly: true });
    const count = (a: string, b: string) => db.prepare(
      `select count(*) from runs x join runs y on x.seed = y.seed where x.n_samples = 80 and y.n_samples = 130 and x.outcome ${a} 'converged' and y.outcome ${b} 'converged'`,
    ).pluck().get() as number;
    const ab = count('=', '!=');
    const ba = count('!=', '=');
    db.close();
    assert.deepEqual([c.pairs, c.discordant_ab, c.discordant_ba], [10, ab, ba]);
    assert.deepEqual([ab, ba], [1, 7], 'seed 1 converged only at 80; seeds 4–10 only at 130');
    const ref = exactBinomialP(Math.min(ab, ba), ab + ba);
    assert.ok(Math.abs(c.p_value - ref) < 1e-9, `p ${c.p_value} vs exact ${ref}`);
    assert.deepEqual([c.a.k, c.a.n, c.b.k, c.b.n], [3, 10, 9, 10]);
    assert.ok(Math.abs(c.difference - 0.6) < 1e-12);
    assert.ok(c.difference_ci_low < 0.6 && c.difference_ci_high > 0.6);
    // Wilson 3/10: 0.1078 .. 0.6032 (the score interval, z = 1.96).
    assert.ok(Math.abs(c.a.ci_low - 0.1078) < 1e-3 && Math.abs(c.a.ci_high - 0.6032) < 1e-3, JSON.stringify(c.a));
  });

  it('compare of two databases with disjoint seeds uses Fisher (3/10 vs 9/10 ≈ 0.0198) and lists the settings that differ', () => {
    const a = buildDb('name: syn\nseed: 1\nrepeats: 10\ndata: {seq_len: 200, n_samples: 80}\n', (_p, seed) => seed <= 3, 'a.db');
    const b = buildDb('name: syn\nseed: 101\nrepeats: 10\ndata: {seq_len: 200, n_samples: 80}\nmodel: {kernel_initializer: glorot_uniform}\n', (_p, seed) => seed <= 109, 'b.db');
    const r = runCli(['compare', a.file, b.file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as CompareJson;
    assert.equal(c.test, 'fisher_exact');
    assert.equal(c.pairs, null);
    const ref = referenceFisher();
    assert.ok(Math.abs(ref - 0.019766) < 1e-5, `reference ${ref}`);
    assert.ok(Math.abs(c.p_value - ref) < 1e-9, `p ${c.p_value} vs reference ${ref}`);
    assert.deepEqual(c.settings_differ, [{ name: 'kernel_initializer', a: ['orthogonal'], b: ['glorot_uniform'] }]);
    const text = runCli(['compare', a.file, b.file]);
    assert.match(text.stdout, /^setting kernel_initializer: orthogonal \(A\) vs glorot_uniform \(B\)$/m);
    assert.match(text.stdout, /unpaired: the groups share no seed/);
  });

  it('compare of two databases with the same seeds pairs them cell by cell', () => {
    const grid = 'seed: 1\nrepeats: 10\ndata: {seq_len: 200}\ngrid:\n  n_samples: [80, 130]\n';
    const a = buildDb(`name: syn\n${grid}`, (p, seed) => seed <= (p.n_samples === 80 ? 2 : 4), 'a.db');
    const b = buildDb(`name: syn\n${grid}model: {kernel_initializer: glorot_uniform}\n`, (_p, seed) => seed <= 1, 'b.db');
    const r = runCli(['compare', a.file, b.file, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as CompareJson;
    assert.equal(c.test, 'sign_flip_seed', 'a seed gives a pair in each of two cells: the seed is the unit');
    assert.deepEqual([c.pairs, c.discordant_ab, c.discordant_ba], [20, 4, 0]);
  });

  it('compare pooling two cells per side pairs them cell by cell (a seed never counts twice on a side)', () => {
    const { file } = buildDb(
      'name: syn\nseed: 1\nrepeats: 10\ndata: {seq_len: 200}\ngrid:\n  n_samples: [80, 130]\n  batch_size: [1, 32]\n',
      (p, seed) => (p.batch_size === 1 ? seed <= (p.n_samples === 80 ? 5 : 6) : p.n_samples === 130 && seed <= 4),
    );
    const r = runCli(['compare', file, '--a', 'batch_size=32', '--b', 'batch_size=1', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const c = JSON.parse(r.stdout) as CompareJson;
    assert.equal(c.test, 'sign_flip_seed', 'a seed gives a pair in each of two cells: the seed is the unit');
    assert.deepEqual([c.pairs, c.a.k, c.a.n, c.b.k, c.b.n, c.discordant_ab, c.discordant_ba], [20, 4, 20, 11, 20, 0, 7]);
    // Two cells on one side and one on the other: a seed would count twice, so it is refused.
    const bad = runCli(['compare', file, '--a', 'batch_size=32', '--b', 'batch_size=1 and n_samples=80']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /holds two runs with seed \d+ .*give A one value of n_samples/);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });

  it('compare without groups says what it needs', () => {
    const { file } = syntheticDb();
    const r = runCli(['compare', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /compare needs --a and --b/);
  });

  it('query --sql "delete from runs" fails with a clear error and the row count is unchanged', () => {
    const { file } = syntheticDb();
    const r = runCli(['query', file, '--sql', 'delete from runs']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /refused: the statement would modify the database/);
    const db = new Database(file, { readonly: true });
    assert.equal(db.prepare('select count(*) from runs').pluck().get(), 20);
    db.close();
  });

  it('query --where binds values: a quote in a value cannot break out of the SQL', () => {
    const { file } = syntheticDb();
    const ok = runCli(['query', file, '--where', 'n_samples=80 and outcome=converged', '--format', 'json']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as unknown[]).length, 3);
    const evil = runCli(['query', file, '--where', `kernel_initializer="x' or 1=1 --"`, '--format', 'json']);
    assert.equal(evil.code, 0, evil.stderr);
    assert.deepEqual(JSON.parse(evil.stdout), []);
    const bad = runCli(['query', file, '--where', 'n_samples=']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.trim().split('\n').length, 1);
  });

  it('query --format csv has a header and one line per run', () => {
    const { file } = syntheticDb();
    const r = runCli(['query', file, '--where', 'n_samples=130', '--format', 'csv']);
    assert.equal(r.code, 0);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 11);
    assert.match(lines[0]!, /^id,run_key,/);
  });

  it('compare names a setting that moves with the named one (kernel_gain with kernel_initializer) and pairs across it', () => {
    const { file } = buildDb(
      'name: syn\nseed: 1\nrepeats: 10\ndata: {seq_len: 200, n_samples: 80}\ncases:\n  - {kernel_initializer: orthogonal, kernel_gain: 0.01}\n  - {kernel_initializer: glorot_uniform, kernel_gain: 1}\n',
      (p, seed) => (p.kernel_initializer === 'orthogonal' ? seed <= 7 : seed <= 2),
    );
    const r = runCli(['compare', file, '--a', 'kernel_initializer=glorot_uniform', '--b', 'kernel_initializer=orthogonal']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^A and B also differ in kernel_gain: 1 \(A\) vs 0\.01 \(B\)$/m);
    assert.match(r.stdout, /paired: 10 pairs .* only in A: 0, only in B: 5/);
  });

  it('an unknown filter name is exit 2 with one line naming the valid names and a suggestion, in report, compare and query', () => {
    const { file } = syntheticDb();
    for (const args of [
      ['report', file, '--where', 'batchsize=1'],
      ['query', file, '--where', 'batchsize=1'],
      ['compare', file, '--a', 'batchsize=1', '--b', 'n_samples=130'],
      ['compare', file, '--a', 'n_samples=80', '--b', 'n_samples=130', '--where', 'batchsize=1'],
    ]) {
      const r = runCli(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /unknown name "batchsize" \(did you mean batch_size\?\); names: .*\bseed\b.*\bn_samples\b.*\boutcome\b.*\bfinal_val_mae\b/);
      assert.match(r.stderr, /\[filter\.unknownName\]/);
      assert.equal(r.stdout, '');
    }
    const typo = runCli(['report', file, '--where', 'outcome=convergd']);
    assert.equal(typo.code, 2);
    assert.match(typo.stderr, /outcome is one of .*got "convergd" \(did you mean converged\?\)/);
    const word = runCli(['query', file, '--where', 'seq_len=long']);
    assert.equal(word.code, 2);
    assert.match(word.stderr, /seq_len is a number, got "long"/);
  });

  it('--where "outcome=converged" and --where "seed<=5" work in report, compare and query', () => {
    const { file } = syntheticDb();
    const q = (where: string) => JSON.parse(runCli(['query', file, '--where', where, '--format', 'json']).stdout) as { seed: number; outcome: string }[];
    assert.equal(q('outcome=converged').length, 12);
    assert.ok(q('outcome=converged').every((r) => r.outcome === 'converged'));
    assert.equal(q('seed<=5').length, 10);
    assert.ok(q('seed<=5').every((r) => r.seed <= 5));
    const report = (where: string) =>
      JSON.parse(runCli(['report', file, '--format', 'json', '--where', where]).stdout) as { params: { n_samples: number }; converged: number; n: number }[];
    assert.deepEqual(report('outcome=converged').map((c) => [c.params.n_samples, c.converged, c.n]), [[80, 3, 3], [130, 9, 9]]);
    assert.deepEqual(report('seed<=5').map((c) => [c.params.n_samples, c.converged, c.n]), [[80, 3, 5], [130, 4, 5]]);
    const cmp = JSON.parse(runCli(['compare', file, '--a', 'n_samples=80', '--b', 'n_samples=130', '--where', 'seed<=5', '--json']).stdout) as CompareJson;
    assert.deepEqual([cmp.pairs, cmp.a.k, cmp.b.k], [5, 3, 4]);
    const conv = runCli(['compare', file, '--a', 'n_samples=80', '--b', 'n_samples=130', '--where', 'outcome=converged', '--json']);
    assert.equal(conv.code, 2, 'only some seeds converged on both sides, so the pairing is partial and refused');
    assert.match(conv.stderr, /only \d+ of A's 3 runs have a partner/);
    assert.match(conv.stderr, /--where "outcome=converged" selects runs by how they ended \(outcome\)/, 'the refusal names the filter on results as the cause');
    assert.equal(conv.stderr.trim().split('\n').length, 1, 'one line');
  });

  it('a valid filter that matches no run exits 0 and says so on stderr', () => {
    const { file } = syntheticDb();
    for (const args of [
      ['report', file, '--where', 'seed>100'],
      ['query', file, '--where', 'seed>100'],
      ['compare', file, '--a', 'n_samples=80', '--b', 'n_samples=131'],
    ]) {
      const r = runCli(args);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /matches no run \(of 20 in the database\)/, args.join(' '));
    }
  });

  it('report --format csv has unique headers and the same full-precision floats as --format json; query csv too', () => {
    const { file } = syntheticDb();
    const csv = runCli(['report', file, '--format', 'csv']);
    assert.equal(csv.code, 0, csv.stderr);
    const [header, ...records] = csv.stdout.trimEnd().split('\r\n').map((l) => l.split(','));
    assert.equal(new Set(header).size, header!.length, header!.join(','));
    const json = JSON.parse(runCli(['report', file, '--format', 'json']).stdout) as { val_mae_median: number; ci_low: number }[];
    const col = (name: string) => header!.indexOf(name);
    records.forEach((r, i) => {
      assert.equal(Number(r[col('val_mae_median')]), json[i]!.val_mae_median, 'the median val_mae round-trips exactly');
      assert.equal(Number(r[col('ci_low')]), json[i]!.ci_low);
    });
    const q = runCli(['query', file, '--where', 'seed=2 and n_samples=80', '--format', 'csv']).stdout.trim().split('\n').map((l) => l.split(','));
    const db = new Database(file, { readonly: true });
    const exact = db.prepare('select final_val_mae from runs where seed = 2 and n_samples = 80').pluck().get() as number;
    db.close();
    assert.equal(Number(q[1]![q[0]!.indexOf('final_val_mae')]), exact);
    assert.ok(String(exact).length > 8, `a value with many digits: ${exact}`);
  });

  it('report table and md start with the same header: sweep, rule, engine, seeds, fixed settings, database', () => {
    const { file } = syntheticDb();
    const table = runCli(['report', file, '--where', 'seed<=5']).stdout.split('\n');
    const md = runCli(['report', file, '--where', 'seed<=5', '--format', 'md']).stdout.split('\n');
    const head = table.slice(0, table.indexOf(''));
    // The lines above the table (the legend under it is not part of the header).
    assert.deepEqual(md.slice(0, md.findIndex((l) => l.startsWith('|'))).filter((l) => l !== ''), head);
    assert.equal(head[0], 'sweep: syn');
    assert.equal(head[1], 'rule: a run converged when its pop_mae is below 0.05 at its last epoch');
    assert.equal(head[2], 'engine: fused');
    assert.equal(head[3], 'seeds: 1–5 (5 seeds)');
    assert.match(head[4]!, /^fixed: .*batch_size=1 .*seq_len=200/);
    assert.ok(head.includes('filter: seed<=5'));
    assert.ok(head.some((l) => l.startsWith(`source: database ${file}, spec syn.yaml, spec hash `)), head.join('\n'));
  });

  it('report --format json has by_epoch per cell: its last entry is the cell\'s rate, and epoch 25 equals a plain-sqlite3 recount', () => {
    // 50 epochs; a converging seed s crosses below 0.05 at epoch 5 + 4s; seeds 9 and 10 dip below
    // 0.05 only at epochs 20–30; seed 7 is dead at init.
    const { file } = buildDb(
      'name: syn\nseed: 1\nrepeats: 10\ndata: {seq_len: 200}\ntrain: {epochs: 50}\ngrid:\n  n_samples: [80, 130]\n',
      (p, seed) => seed !== 7 && seed <= (p.n_samples === 80 ? 4 : 8),
      'budget.db',
      {
        curve: (_p, seed, c) => Array.from({ length: 50 }, (_, i) => {
          const e = i + 1;
          if (c) return e >= 5 + 4 * seed ? 0.03 : 0.2;
          return seed >= 9 && e >= 20 && e <= 30 ? 0.04 : 0.25;
        }),
        alive: (_p, seed) => seed !== 7,
      },
    );
    const r = runCli(['report', file, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const cells = JSON.parse(r.stdout) as { params: { n_samples: number }; converged: number; n: number; rate: number; ci_low: number; ci_high: number; by_epoch: { epoch: number; converged: number; n: number; rate: number; ci_low: number; ci_high: number }[] }[];
    const db = new Database(file, { readonly: true });
    for (const c of cells) {
      assert.equal(c.by_epoch.length, 50);
      assert.deepEqual(c.by_epoch.map((p) => p.epoch), Array.from({ length: 50 }, (_, i) => i + 1));
      const last = c.by_epoch[49]!;
      assert.deepEqual([last.converged, last.n, last.rate, last.ci_low, last.ci_high], [c.converged, c.n, c.rate, c.ci_low, c.ci_high]);
      // At epoch 25, recounted from the epochs table: alive at init and pop_mae below the threshold.
      const at25 = db.prepare(
        `select count(*) from epochs e join runs r on r.id = e.run_id where e.epoch = 25 and e.pop_mae < 0.05 and r.alive_at_init = 1 and r.n_samples = ?`,
      ).pluck().get(c.params.n_samples) as number;
      const n = db.prepare(`select count(*) from runs where status = 'done' and n_samples = ?`).pluck().get(c.params.n_samples) as number;
      const p25 = c.by_epoch[24]!;
      assert.deepEqual([p25.converged, p25.n], [at25, n], `n_samples=${c.params.n_samples}`);
      assert.ok(p25.ci_low <= p25.rate && p25.rate <= p25.ci_high);
    }
    db.close();
    // By hand: at N=80, seeds 1–4 converge (crossing at 9, 13, 17, 21) and 9, 10 dip at 20–30: 6 at epoch 25, 4 at 50.
    const n80 = cells.find((c) => c.params.n_samples === 80)!;
    assert.deepEqual([n80.by_epoch[24]!.converged, n80.by_epoch[49]!.converged, n80.by_epoch[8]!.converged, n80.by_epoch[7]!.converged], [6, 4, 1, 0]);
    // --epoch 25 scores every run at 25: the curve stops there and ends at the re-scored rate.
    const e25 = JSON.parse(runCli(['report', file, '--format', 'json', '--epoch', '25']).stdout) as typeof cells;
    const e80 = e25.find((c) => c.params.n_samples === 80)!;
    assert.equal(e80.by_epoch.length, 25);
    assert.equal(e80.converged, 6);
  });

  it('compare honours --metric/--threshold/--epoch and --alive', () => {
    const { file } = buildDb(
      'name: syn\nseed: 1\nrepeats: 10\ndata: {seq_len: 200}\ntrain: {epochs: 3}\ngrid:\n  n_samples: [80, 130]\n',
      (p, seed) => seed > 2 && seed <= (p.n_samples === 80 ? 4 : 9),
      'rescore.db',
      { curve: (_p, _s, c) => (c ? [0.2, 0.08, 0.03] : [0.3, 0.3, 0.3]), alive: (_p, seed) => seed > 2 },
    );
    const cmp = (...extra: string[]) => {
      const r = runCli(['compare', file, '--a', 'n_samples=80', '--b', 'n_samples=130', '--json', ...extra]);
      assert.equal(r.code, 0, r.stderr);
      return JSON.parse(r.stdout) as CompareJson & { metric: string; threshold: number; epoch: number | null; alive: boolean };
    };
    const base = cmp();
    assert.deepEqual([base.pairs, base.a.k, base.b.k, base.metric, base.threshold, base.epoch, base.alive], [10, 2, 7, 'pop_mae', 0.05, null, false]);
    const early = cmp('--epoch', '2');
    assert.deepEqual([early.a.k, early.b.k, early.epoch], [0, 0, 2], 'nothing is below 0.05 at epoch 2');
    const loose = cmp('--epoch', '2', '--threshold', '0.1');
    assert.deepEqual([loose.a.k, loose.b.k], [2, 7]);
    const alive = cmp('--alive');
    assert.deepEqual([alive.pairs, alive.a.k, alive.a.n, alive.b.k, alive.alive], [8, 2, 8, 7, true], 'seeds 1 and 2 are dead at init on both sides');
    const vm = cmp('--metric', 'val_mae');
    assert.equal(vm.metric, 'val_mae');
    assert.deepEqual([vm.a.k, vm.b.k], [2, 7]);
  });

  it('report --format html writes one self-contained file', () => {
    const { dir, file } = syntheticDb();
    const out = join(dir, 'r.html');
    const r = runCli(['report', file, '--format', 'html', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    assert.ok(existsSync(out));
    assert.match(html, /<svg/);
    assert.doesNotMatch(html, /<script[^>]+src=/);
  });
});
