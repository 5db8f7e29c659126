/**
 * Every fenced shell block of README.md and docs/*.md that runs `converge` is run here, in order,
 * in a scratch copy of the repository (one per document), through the README's own set-up line
 * (`alias converge=…`): a block either runs and exits 0, or carries
 * `<!-- doc-test: skip (why) -->` on the line before it. `<!-- doc-test: set key=value … -->`
 * adds `--set` overrides to the block's plan/run/search commands, to keep long ones small;
 * `<!-- doc-test: file PATH -->` saves a block (a sweep file) there for the blocks after it. Output
 * quoted in a `console` block is checked in shape: its header line appears in the real output,
 * and every quoted row starts like a real one.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT } from '../helpers';
import { anchors, blocks, commandsOf, docs, overrides, relativeLinks, runsConverge, savedAs, SHELL_LANGS, skipReason, type Block } from './markdown';

const DOCS = docs();

/** The README's set-up line that makes `converge` the built CLI. */
function setupLine(): string {
  const readme = DOCS.find((d) => d.file === 'README.md')!;
  for (const b of blocks(readme)) {
    const line = b.body.split('\n').find((l) => /^alias converge=/.test(l));
    if (line) return line;
  }
  assert.fail('README.md has no block with the set-up line `alias converge=…`');
}

/** A scratch copy of the repository: the build and the dependencies linked, sweeps and examples copied. */
function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'converge-doc-'));
  symlinkSync(join(ROOT, 'dist'), join(dir, 'dist'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  // Examples write results beside their sweep files: copies, so the repository stays clean.
  for (const folder of ['sweeps', 'examples']) {
    if (existsSync(join(ROOT, folder))) cpSync(join(ROOT, folder), join(dir, folder), { recursive: true });
  }
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  return dir;
}

/** A command as the test runs it: `npx converge` through the alias, plus the block's overrides. */
function prepared(command: string, sets: string[]): string {
  let c = command.replace(/\bnpx\s+converge\b/g, 'converge');
  if (sets.length && /\bconverge\s+(plan|run|search)\b/.test(c)) c += sets.map((s) => ` --set '${s}'`).join('');
  return c;
}

function bash(dir: string, commands: string[]): { code: number | null; stdout: string; stderr: string } {
  const script = ['shopt -s expand_aliases', setupLine(), 'set -eo pipefail', ...commands].join('\n');
  const r = spawnSync('bash', ['-c', script], { cwd: dir, encoding: 'utf8', timeout: 120_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const words = (line: string) => line.trim().split(/\s+/);
const normal = (line: string) => words(line).join(' ');

/** The quoted output of a console block, per command: the lines after each `$ ` line. */
function quotedOutputs(block: Block): { command: string; output: string[] }[] {
  const out: { command: string; output: string[] }[] = [];
  for (const line of block.body.split('\n')) {
    if (line.startsWith('$ ')) out.push({ command: line.slice(2), output: [] });
    else if (out.length && line.trim()) out[out.length - 1]!.output.push(line);
  }
  return out;
}

function checkShape(quoted: string[], actual: string, where: string): void {
  const real = actual.split('\n').filter((l) => l.trim());
  const header = quoted.find((l) => !/^[-\s]+$/.test(l));
  if (!header) return;
  assert.ok(real.some((l) => normal(l) === normal(header)), `${where}: the quoted header "${normal(header)}" is not in the output:\n${actual}`);
  const rows = quoted.slice(quoted.indexOf(header) + 1).filter((l) => !/^[-\s]+$/.test(l));
  for (const row of rows) {
    const key = words(row).slice(0, 2);
    assert.ok(
      real.some((l) => words(l).slice(0, 2).join(' ') === key.join(' ')),
      `${where}: no output row starts like the quoted "${normal(row)}":\n${actual}`,
    );
  }
}

const scratchDirs: string[] = [];
after(() => {
  for (const d of scratchDirs) rmSync(d, { recursive: true, force: true });
});

for (const doc of DOCS) {
  const shell = blocks(doc).filter((b) => savedAs(b) !== undefined || (SHELL_LANGS.has(b.lang) && commandsOf(b).some(runsConverge)));
  if (!shell.some((b) => savedAs(b) === undefined)) continue;
  describe(`the shell examples of ${doc.file}`, () => {
    let dir = '';
    for (const block of shell) {
      const where = `${block.file}:${block.line}`;
      const file = savedAs(block);
      if (file !== undefined) {
        it(`the ${block.lang} block at ${where} is saved as ${file} for the examples after it`, () => {
          if (!dir) scratchDirs.push((dir = scratch()));
          const path = resolve(dir, file);
          assert.ok(!relative(dir, path).startsWith('..'), `${where}: ${file} is outside the project`);
          mkdirSync(dirname(path), { recursive: true });
          writeFileSync(path, block.body + '\n');
        });
        continue;
      }
      const reason = skipReason(block);
      if (reason !== undefined) {
        it(`the ${block.lang || 'untagged'} block at ${where} says why it is not run here`, () => {
          assert.ok(reason.length >= 10, `${where}: the skip marker needs a reason`);
        });
        continue;
      }
      it(`the ${block.lang || 'untagged'} block at ${where} runs on small inputs and exits 0`, () => {
        if (!dir) scratchDirs.push((dir = scratch()));
        const sets = overrides(block);
        if (block.lang !== 'console') {
          const r = bash(dir, commandsOf(block).map((c) => prepared(c, sets)));
          assert.equal(r.code, 0, `${where} failed:\n${r.stdout}\n${r.stderr}`);
          return;
        }
        for (const q of quotedOutputs(block)) {
          const r = bash(dir, [prepared(commandsOf({ ...block, body: `$ ${q.command}` })[0]!, sets)]);
          assert.equal(r.code, 0, `${where}: \`${q.command}\` failed:\n${r.stdout}\n${r.stderr}`);
          checkShape(q.output, r.stdout, `${where}: \`${q.command}\``);
        }
      });
    }
  });
}

describe('the documentation as a whole', () => {
  it('README.md is at most 12 KB', () => {
    const size = Buffer.byteLength(DOCS.find((d) => d.file === 'README.md')!.text);
    assert.ok(size <= 12 * 1024, `README.md is ${size} bytes`);
  });

  it('every relative link of README.md and docs/ resolves to a file inside the repository, and every anchor to a heading', () => {
    const broken: string[] = [];
    for (const doc of DOCS) {
      for (const { target, line } of relativeLinks(doc)) {
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const file = path ? resolve(ROOT, dirname(doc.file), decodeURIComponent(path)) : join(ROOT, doc.file);
        const where = `${doc.file}:${line}: ${target}`;
        if (relative(ROOT, file).startsWith('..')) broken.push(`${where} (outside the repository)`);
        else if (!existsSync(file)) broken.push(`${where} (no such file)`);
        else if (anchor && file.endsWith('.md') && statSync(file).isFile()) {
          const other = DOCS.find((d) => join(ROOT, d.file) === file);
          if (other && !anchors(other.text).has(anchor)) broken.push(`${where} (no heading with that anchor)`);
        }
      }
    }
    assert.deepEqual(broken, []);
  });

  it('every shell block that runs converge is either run by this test or says why not', () => {
    // The loop above runs a block unless it has a skip marker; this names the blocks it covers.
    const covered = DOCS.flatMap((d) => blocks(d)).filter((b) => SHELL_LANGS.has(b.lang) && commandsOf(b).some(runsConverge));
    assert.ok(covered.length >= 4, `only ${covered.length} shell blocks run converge`);
  });

  it('no page tells how the project was developed', () => {
    const found: string[] = [];
    for (const doc of DOCS) {
      doc.text.split('\n').forEach((line, i) => {
        if (/\bissue \d+|\bthe session\b|\bsession before\b|\bbefore the [\w ]+ was merged\b/i.test(line)) found.push(`${doc.file}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(found, []);
  });
});
