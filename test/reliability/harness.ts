/**
 * Shared parts of the reliability tests: a real `converge` child process in a fresh temp folder,
 * real signals, and a real database file read with better-sqlite3 (read-only, like `status`).
 * No mocks: every assertion is about what a user would see (exit code, stderr) or find in the file.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestContext } from 'node:test';
import Database from 'better-sqlite3';

/** The compiled CLI: this file runs from dist/test/reliability/. */
export const CLI = resolve(__dirname, '../../src/cli/main.js');

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Child {
  process: ChildProcess;
  /** Resolves when the process has exited (never rejects). */
  finished: Promise<Finished>;
  stderr(): string;
  stdout(): string;
}

/** A fresh folder for one test, removed afterwards (with any child still running killed first). */
export function sandbox(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'converge-reliability-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Start `converge <args>` in `cwd`. CONVERGE_FAULT is cleared unless `env` sets it, so a
 * variable exported in the developer's shell cannot leak into a test. `through` is a command
 * that starts it (e.g. `unshare --pid --fork …`); none by default.
 */
export function start(t: TestContext, cwd: string, args: string[], env: Record<string, string> = {}, through: string[] = []): Child {
  const [file, ...rest] = [...through, process.execPath, CLI, ...args];
  const child = spawn(file!, rest, {
    cwd,
    env: { ...process.env, CONVERGE_FAULT: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const finished = new Promise<Finished>((resolveExit) => {
    child.on('close', (code, signal) => resolveExit({ code, signal, stdout: out, stderr: err }));
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { process: child, finished, stderr: () => err, stdout: () => out };
}

/** Run `converge <args>` to the end. */
export function converge(t: TestContext, cwd: string, args: string[], env: Record<string, string> = {}): Promise<Finished> {
  return start(t, cwd, args, env).finished;
}

/** Run `converge <args>` synchronously (for the quick bad-input cases). */
export function convergeSync(cwd: string, args: string[], env: Record<string, string> = {}): Finished {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, CONVERGE_FAULT: '', ...env }, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function writeSpec(dir: string, file: string, text: string): string {
  writeFileSync(join(dir, file), text);
  return file;
}

/**
 * A sweep whose runs each take around a second with the fused engine (seq_len 200, 130 samples,
 * 30 epochs at batch size 1 and 2), so a signal reliably lands while runs are in flight.
 */
export function slowSpec(name: string, repeats = 4, epochs = 30): string {
  return [`name: ${name}`, 'seed: 1', `repeats: ${repeats}`, 'data:', '  seq_len: 200', '  n_samples: 130', 'train:', `  epochs: ${epochs}`, 'grid:', '  batch_size: [1, 2]', ''].join('\n');
}

/** Open the database read-only, run `fn`, close it. */
export function withDb<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export interface RunRow {
  id: number;
  run_key: string;
  seed: number;
  status: 'pending' | 'running' | 'done' | 'failed';
  outcome: string | null;
  attempts: number;
  owner: string | null;
  lease_until: number | null;
  finished_at: string | null;
  error: string | null;
  epochs: number;
  epochs_run: number | null;
  in_plan: number;
  /** Epoch rows recorded for this run. */
  recorded: number;
}

export function readRuns(file: string): RunRow[] {
  return withDb(file, (db) =>
    db
      .prepare(
        `SELECT id, run_key, seed, status, outcome, attempts, owner, lease_until, finished_at, error, epochs, epochs_run, in_plan,
           (SELECT count(*) FROM epochs e WHERE e.run_id = r.id) AS recorded
         FROM runs r ORDER BY id`,
      )
      .all() as RunRow[],
  );
}

export function integrity(file: string): string {
  return withDb(file, (db) => db.pragma('integrity_check', { simple: true }) as string);
}

/**
 * Poll `probe` until it returns a truthy value, or fail after `timeoutMs` naming `what`.
 * A probe that throws (the file does not exist yet, a transient SQLITE_BUSY) counts as "not yet".
 */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false, timeoutMs = 30_000, everyMs = 40): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v) return v;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${String(lastError)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Poll the database file (read-only) until `probe` holds. */
export function waitForDb<T>(file: string, what: string, probe: (db: Database.Database) => T | undefined | null | false, timeoutMs?: number): Promise<T> {
  return waitFor(what, () => (existsSync(file) ? withDb(file, probe) : undefined), timeoutMs);
}

/** The run keys `converge plan --json` expands the spec into. */
export function planKeys(cwd: string, spec: string): string[] {
  const r = convergeSync(cwd, ['plan', spec, '--json']);
  if (r.code !== 0) throw new Error(`converge plan failed: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { runs: { run_key: string }[] }).runs.map((x) => x.run_key).sort();
}

/** Hash of a file's bytes (missing file → 'missing'), to prove a command wrote nothing. */
export function fileHash(file: string): string {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : 'missing';
}

/** stderr of a refused command: exactly one line, no stack trace. */
export function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  if (lines.length !== 1) throw new Error(`expected a one-line error, got ${lines.length} lines:\n${stderr}`);
  if (/^\s+at /m.test(stderr)) throw new Error(`expected no stack trace, got:\n${stderr}`);
  return lines[0]!;
}
