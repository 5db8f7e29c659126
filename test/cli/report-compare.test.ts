import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isConvergeError } from '../../src/errors';
import { parseSpec } from '../../src/spec';
import { runCli, writeSpec } from '../helpers';
import { buildDb } from './synthetic-db';

const GRID = 'seed: 1\nrepeats: 12\ndata: {seq_len: 100}\ngrid:\n  n_samples: [20, 60]\n  batch_size: [1, 16]\n';

/** The example: N=20 8/12 vs 0/12, N=60 9/12 vs 9/12; one epoch per run, ending at 0.02 (converged) or 0.06 + seed/200. */
function example(extra = '') {
  return buildDb(
    `name: syn\n${GRID}${extra}`,
    (p, seed) => (p.n_samples === 20 ? p.batch_size === 1 && seed <= 8 : p.batch_size === 1 ? seed <= 9 : seed >= 3 && seed <= 11),
    'syn.db',
    { curve: (_p, seed, c) => [c ? 0.02 : 0.06 + seed / 200] },
  );
}

/** The text of an HTML fragment: tags dropped, entities of escapeHtml undone, spaces collapsed. */
function text(html: string): string {
  return html.replace(/<[^>]+>/g, ' ').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/\s+/g, ' ');
}

function section(html: string): string {
  const start = html.indexOf('<h2>Comparisons</h2>');
  assert.ok(start >= 0, 'the report has a Comparisons section');
  return text(html.slice(start, html.indexOf('<h2>Cells</h2>')));
}

describe('report: comparisons in the HTML report and rates across thresholds in JSON', () => {
  it('report --format json gives each cell\'s rate across thresholds (by_threshold), equal to a plain-SQL recount of the stored epochs', () => {
    const { file } = example();
    const r = runCli(['report', file, '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const cells = JSON.parse(r.stdout) as { params: { n_samples: number; batch_size: number }; converged: number; n: number; threshold: number; by_threshold: { threshold: number; converged: number; n: number; rate: number; ci_low: number; ci_high: number }[] }[];
    const db = new Database(file, { readonly: true });
    const below = (n: number, b: number, t: number) =>
      db.prepare('select count(*) from epochs e join runs r on r.id = e.run_id where r.n_samples = ? and r.batch_size = ? and e.pop_mae < ?').pluck().get(n, b, t) as number;
    for (const c of cells) {
      assert.deepEqual(c.by_threshold.map((p) => p.threshold), [0.03, 0.05, 0.07, 0.1, 0.15]);
      for (const p of c.by_threshold) {
        assert.deepEqual([p.converged, p.n], [below(c.params.n_samples, c.params.batch_size, p.threshold), 12], `${JSON.stringify(c.params)} at ${p.threshold}`);
        assert.ok(p.ci_low <= p.rate && p.rate <= p.ci_high);
      }
      const atRule = c.by_threshold.find((p) => p.threshold === c.threshold)!;
      assert.deepEqual([atRule.converged, atRule.n], [c.converged, c.n], "the rule's threshold gives the cell's own rate");
    }
    db.close();
    const own = JSON.parse(runCli(['report', file, '--format', 'json', '--thresholds', '0.1,0.02']).stdout) as typeof cells;
    assert.deepEqual(own[0]!.by_threshold.map((p) => p.threshold), [0.02, 0.1]);
  });

  it('report --compare adds a Comparisons section: rates, the paired difference with its interval, the p-value, per stratum, and the verdict across thresholds', () => {
    const { dir, file } = example();
    const out = join(dir, 'r.html');
    const r = runCli(['report', file, '--out', out, '--compare', 'batch_size=1 vs batch_size=16 by n_samples']);
    assert.equal(r.code, 0, r.stderr);
    const html = readFileSync(out, 'utf8');
    const s = section(html);
    assert.match(s, /<?batch_size=1 vs batch_size=16 by n_samples/);
    assert.match(s, /A: batch_size=1; B: batch_size=16\. Paired by seed and setting: 24 pairs from 12 seeds, the seed as the unit\. 17\/24 against 9\/24: B − A = -0\.33/);
    assert.match(s, / pooled 17\/24 9\/24 10 2 -0\.33 \[-0\.\d\d, [-+]0\.\d\d\] 0\.\d+ sign-flip by seed /);
    assert.match(s, / n_samples=20 8\/12 0\/12 8 0 -0\.67 \[-0\.\d\d, -0\.\d\d\] 0\.00781 McNemar /);
    assert.match(s, / n_samples=60 9\/12 9\/12 2 2 \+0\.00 \[-0\.\d\d, \+0\.\d\d\] 1\.00 McNemar /);
    assert.match(s, /do the levels of n_samples agree\? no evidence that they differ; exact conditional test on the split of the discordant pairs over 2 levels, p = 0\.0909/);
    assert.match(s, / 0\.05 \(rule\) 17\/24 9\/24 /);
    assert.match(html, /<figure class="forest"><svg/);
    // The same numbers as compare prints.
    const c = JSON.parse(runCli(['compare', file, '--a', 'batch_size=1', '--b', 'batch_size=16', '--by', 'n_samples', '--json']).stdout) as { threshold_summary: string };
    assert.ok(s.includes(c.threshold_summary), c.threshold_summary);
  });

  it('a sweep file\'s compare: list is a section of the HTML report; an entry that cannot be paired is shown as not compared and said on stderr', () => {
    const { dir, file } = example('compare:\n  - batch_size=1 vs batch_size=16 by n_samples\n  - n_samples=20 vs batch_size=16\n');
    const out = join(dir, 'r.html');
    const r = runCli(['report', file, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const s = section(readFileSync(out, 'utf8'));
    assert.match(s, /batch_size=1 vs batch_size=16 by n_samples A: batch_size=1; B: batch_size=16\./);
    assert.match(s, /n_samples=20 vs batch_size=16 Not compared: .*holds two runs with seed/);
    assert.match(r.stderr, /the sweep's compare: "n_samples=20 vs batch_size=16" is not in the report: /);
  });

  it('a compare: entry that does not parse or names no setting is refused at load, naming its line; compare: does not change the spec hash', () => {
    const base = `name: syn\n${GRID}`;
    for (const [entry, message] of [
      ['batch_size=1 batch_size=16', /syn\.yaml:9: compare\[0\]: "batch_size=1 batch_size=16": expected two groups joined by " vs "/],
      ['batch_size=1 vs batch_size=16 by n_sample', /syn\.yaml:9: compare\[0\]: .*"n_sample" is not a setting \(did you mean n_samples\?\)/],
      ['outcome=converged vs batch_size=16', /"outcome" is not a setting/],
    ] as const) {
      assert.throws(() => parseSpec(`${base}compare:\n  - ${entry}\n`, 'syn.yaml'), (e: unknown) => isConvergeError(e) && e.code === 'spec.invalid' && message.test(e.message) && !e.message.includes('\n'));
    }
    assert.equal(parseSpec(`${base}compare:\n  - batch_size=1 vs batch_size=16\n`, 'syn.yaml').source.hash, parseSpec(base, 'syn.yaml').source.hash);
    const dir = example().dir;
    const plan = runCli(['plan', writeSpec(dir, 'bad.yaml', `${base}compare:\n  - batch_size=1 vs\n`)]);
    assert.equal(plan.code, 2);
    assert.equal(plan.stderr.trim().split('\n').length, 1, plan.stderr);
    assert.match(plan.stderr, /bad\.yaml:9: compare\[0\]: .*\[spec\.invalid\]/);
  });

  it('report --compare outside html, with a bad phrase, or with groups that cannot be paired is refused with one line', () => {
    const { dir, file } = example();
    const out = join(dir, 'r.html');
    const cases: [string[], RegExp][] = [
      [['--compare', 'batch_size=1 vs batch_size=16'], /report --compare adds a section to the HTML report .*converge compare/],
      [['--out', out, '--compare', 'batch_size=1 vs'], /"batch_size=1 vs": expected two groups joined by " vs "/],
      [['--out', out, '--compare', 'batch_sze=1 vs batch_size=16'], /unknown name "batch_sze" \(did you mean batch_size\?\)/],
      [['--out', out, '--compare', 'n_samples=20 vs batch_size=16'], /--compare "n_samples=20 vs batch_size=16": .*holds two runs with seed/],
    ];
    for (const [extra, message] of cases) {
      const r = runCli(['report', file, ...extra]);
      assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, message);
    }
  });
});
