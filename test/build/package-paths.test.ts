import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers';

interface PackageJson {
  main?: string;
  module?: string;
  types?: string;
  typings?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
  scripts?: Record<string, string>;
}

/** Every string leaf of `exports` (conditional and subpath exports nest objects). */
function exportPaths(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  if (exports && typeof exports === 'object') return Object.values(exports).flatMap(exportPaths);
  return [];
}

/**
 * The paths package.json names: its entry fields, and the repository files its scripts name
 * (a word with a folder and an extension, e.g. `dist/bench/bench.js`, `sweeps/answer-cases.yaml`).
 * Tests run after `npm run build`, so the built files named there must exist too.
 */
function namedPaths(pkg: PackageJson): { field: string; path: string }[] {
  const out: { field: string; path: string }[] = [];
  for (const field of ['main', 'module', 'types', 'typings'] as const) {
    const v = pkg[field];
    if (v !== undefined) out.push({ field, path: v });
  }
  if (typeof pkg.bin === 'string') out.push({ field: 'bin', path: pkg.bin });
  else for (const [name, path] of Object.entries(pkg.bin ?? {})) out.push({ field: `bin.${name}`, path });
  for (const path of exportPaths(pkg.exports)) out.push({ field: 'exports', path });
  for (const [name, script] of Object.entries(pkg.scripts ?? {})) {
    for (const m of script.matchAll(/(?:\.\/)?[\w.-]+(?:\/[\w.-]+)+\.[a-z]+\b/g)) out.push({ field: `scripts.${name}`, path: m[0] });
  }
  return out;
}

test('every path package.json names (main, bin, exports, the files its scripts use) exists after the build', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
  const named = namedPaths(pkg);
  assert.ok(named.some((n) => n.field.startsWith('bin.')), 'the converge bin is among them');
  const missing = named.filter((n) => !existsSync(join(ROOT, n.path)));
  assert.deepEqual(missing, [], `package.json names files that do not exist: ${missing.map((n) => `${n.field} → ${n.path}`).join(', ')}`);
});
