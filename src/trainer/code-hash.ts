import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { placeholdersOf } from './argv';

/**
 * Which code trained a run: the content hash of the file that holds the user's code, so a report
 * over runs trained by different versions of it can say so. Only that one file is hashed (not
 * what it imports): a cheap, honest signal, not a build fingerprint.
 */

export interface CodeHash {
  /** The file hashed, absolute. */
  path: string;
  /** `sha256:` and the hex digest of its bytes. */
  hash: string;
}

/** The hash of one file (a module trainer's file). */
export function hashFile(path: string): CodeHash {
  const absolute = resolve(path);
  return { path: absolute, hash: `sha256:${createHash('sha256').update(readFileSync(absolute)).digest('hex')}` };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A script (not a compiled program): it starts with `#!`. */
function isScript(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(2);
      return readSync(fd, head, 0, 2, 0) === 2 && head.toString('latin1') === '#!';
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

/**
 * The script a command names: its first argument that is an existing file (relative to `cwd`),
 * as in `[python3, train.py, --lr, …]`. The program itself counts only when it is the user's own
 * script: a path relative to cwd to a file starting with `#!` (`./train.sh`), not an interpreter
 * (`python3` on PATH, `/usr/bin/python3`, or a virtualenv's `.venv/bin/python`, a binary).
 * Arguments with placeholders are skipped: their value differs from run to run. Undefined when no
 * argument is a file (`python3 -m pkg.train`).
 */
export function commandScript(argv: readonly string[], cwd: string): string | undefined {
  const [program, ...args] = argv;
  if (program !== undefined && program.includes('/') && !isAbsolute(program) && isFile(resolve(cwd, program)) && isScript(resolve(cwd, program))) return resolve(cwd, program);
  for (const arg of args) {
    if (arg === '' || placeholdersOf(arg).length > 0) continue;
    const path = resolve(cwd, arg);
    if (isFile(path)) return path;
  }
  return undefined;
}

/** The hash of the script a command names, or undefined when it names none. */
export function hashCommandScript(argv: readonly string[], cwd: string): CodeHash | undefined {
  const script = commandScript(argv, cwd);
  return script === undefined ? undefined : hashFile(script);
}
