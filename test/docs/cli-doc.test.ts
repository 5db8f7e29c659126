/**
 * docs/cli.md and the key table of docs/sweep-format.md are generated from the commands' own
 * --help and `converge schema` (scripts/gen-cli-doc.js, `npm run docs:cli`): they must equal
 * what the current build prints, so a changed option or key fails here until the docs follow.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers';

function generate(flag: string): string {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'gen-cli-doc.js'), flag], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('docs/cli.md equals the --help of every command (npm run docs:cli regenerates it)', () => {
  const written = readFileSync(join(ROOT, 'docs', 'cli.md'), 'utf8');
  const current = generate('--stdout');
  assert.equal(written, current, 'docs/cli.md differs from the current --help output: run `npm run docs:cli`');
  for (const c of ['plan', 'run', 'search', 'status', 'report', 'query', 'compare', 'merge', 'schema']) {
    assert.match(written, new RegExp(`^## converge ${c}$`, 'm'), `docs/cli.md has no section for ${c}`);
  }
});

test("the key table of docs/sweep-format.md equals the one generated from `converge schema`", () => {
  const doc = readFileSync(join(ROOT, 'docs', 'sweep-format.md'), 'utf8');
  const m = /<!-- schema:begin[^\n]*-->\n([\s\S]*?)<!-- schema:end -->/.exec(doc);
  assert.ok(m, 'docs/sweep-format.md lacks its schema:begin / schema:end lines');
  assert.equal(m[1], generate('--keys'), 'the key table differs from `converge schema`: run `npm run docs:cli`');
});
