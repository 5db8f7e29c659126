import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { parseSpec, diffSpecs, diffSpecText } from '../../src/spec';
import { converge, convergeSync, sandbox, withDb, writeSpec } from '../reliability/harness';

const ADAPTIVE = (max: number, extra = '') =>
  ['name: adaptive', 'seed: 0', `repeats: {min: 2, max: ${max}, until: {ci_width: 0.9}}`, 'data: {seq_len: 9, n_samples: 10}', 'train: {epochs: 1}', extra, ''].join('\n');

const SEARCH = (budget: number) =>
  ['name: search', 'repeats: 2', 'data: {seq_len: 9, test_fraction: 0.5}', 'train: {epochs: 1}', 'search:', '  axis: n_samples', '  range: [2, seq_len+1]', `  budget: ${budget}`, ''].join('\n');

const diff = (a: string, b: string) => diffSpecs(parseSpec(a, 'a.yaml'), parseSpec(b, 'b.yaml'));

test('a change of search.budget or of the adaptive repeats is a change, not "formatting only"', () => {
  assert.deepEqual(diff(SEARCH(100), SEARCH(200)), ['search.budget: 100 → 200']);
  assert.deepEqual(diff(ADAPTIVE(20), ADAPTIVE(40)), ['repeats.max: 20 → 40']);
  assert.deepEqual(diff(ADAPTIVE(20), ADAPTIVE(20).replace('ci_width: 0.9', 'ci_width: 0.5, decide: 0.5')), ['repeats.until.ci_width: 0.9 → 0.5', 'repeats.until.decide: (unset) → 0.5']);
  assert.deepEqual(diff(ADAPTIVE(20), ADAPTIVE(20).replace('max: 20', 'max: 20, batch: 4')), ['repeats.batch: (unset) → 4']);
  assert.deepEqual(diff(SEARCH(100), SEARCH(100).replace('budget: 100', 'budget: 100\n  among: all')), ['search.among: (unset) → "all"']);
  assert.deepEqual(diff(ADAPTIVE(20), ADAPTIVE(20, 'impossible: skip')), ['impossible: "refuse" → "skip"']);
  assert.deepEqual(diff(ADAPTIVE(20), ADAPTIVE(20).replace('repeats: {min: 2, max: 20, until: {ci_width: 0.9}}', 'repeats: 2')), ['repeats: {"min":2,"max":20,"until":{"ci_width":0.9}} → 2']);
});

test('only comments, key order and layout are "formatting only": the diff is empty exactly then', () => {
  const reordered = ['# the same sweep', 'train: {epochs: 1}', 'data:', '  n_samples: 10', '  seq_len: 9', 'repeats:', '  until: {ci_width: 0.9}', '  max: 20', '  min: 2', 'seed: 0', 'name: adaptive', ''].join('\n');
  assert.deepEqual(diff(ADAPTIVE(20), reordered), []);
  assert.deepEqual(diffSpecText(ADAPTIVE(20), parseSpec(ADAPTIVE(40), 'b.yaml')), ['repeats.max: 20 → 40']);
});

test('converge run and search record a changed budget or repeats max in spec_versions.changes', { timeout: 120_000 }, async (t) => {
  const dir = sandbox(t);
  const changes = (db: string) => withDb(join(dir, db), (d) => d.prepare(`SELECT changes FROM spec_versions ORDER BY id`).pluck().all() as string[]).map((c) => JSON.parse(c) as string[]);

  writeSpec(dir, 'a.yaml', ADAPTIVE(20));
  assert.equal(convergeSync(dir, ['run', 'a.yaml', '--db', 'a.db', '--workers', '1', '--quiet']).code, 0);
  writeSpec(dir, 'a.yaml', ADAPTIVE(40));
  const again = convergeSync(dir, ['run', 'a.yaml', '--db', 'a.db', '--workers', '1', '--quiet']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /the spec changed since the last run \(repeats\.max: 20 → 40\)/);
  assert.doesNotMatch(again.stderr, /formatting only/);
  assert.deepEqual(changes('a.db').at(-1), ['repeats.max: 20 → 40']);

  writeSpec(dir, 's.yaml', SEARCH(6));
  assert.equal((await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '1', '--quiet'])).code, 0);
  const more = await converge(t, dir, ['search', 's.yaml', '--db', 's.db', '--workers', '1', '--quiet', '--set', 'search.budget=8']);
  assert.equal(more.code, 0, more.stderr);
  assert.deepEqual(changes('s.db').at(-1), ['search.budget: 6 → 8']);
});
