import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers';

/**
 * `npx converge` links this package into npm's cache once (~/.npm/_npx/…/node_modules/.bin),
 * and npm makes the bin's target executable only at that moment. Every later `npx converge`
 * runs `sh -c 'converge …'` through that link, so after `rm -rf dist && npm run build` the
 * rebuilt dist/src/cli/main.js must be executable by itself: tsc writes files 0644, hence the
 * postbuild step. This builds a copy of the package from scratch and runs the bin the way npx
 * does with a warm cache.
 */
test('npm run build from scratch compiles the wasm kernel and leaves an executable bin that runs the way npx runs it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'converge-build-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'src', 'assembly']) cpSync(join(ROOT, f), join(dir, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  assert.equal(existsSync(join(dir, 'dist')), false);

  const build = spawnSync('npm', ['run', 'build'], { cwd: dir, encoding: 'utf8' });
  assert.equal(build.status, 0, build.stdout + build.stderr);

  // The fused engine's WebAssembly kernel is compiled from assembly/ by the same build.
  assert.ok(existsSync(join(dir, 'dist', 'wasm', 'fused-kernel.wasm')), 'npm run build must compile the wasm kernel');
  const bin = join(dir, 'dist', 'src', 'cli', 'main.js');
  const mode = statSync(bin).mode & 0o777;
  assert.equal(mode & 0o111, 0o111, `dist/src/cli/main.js is ${mode.toString(8)}, not executable`);
  const run = spawnSync('sh', ['-c', `'${bin}' --help`], { cwd: dir, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^Usage: converge /);
});
