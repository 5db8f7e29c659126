import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** The repository root (tests run from dist/test/…). */
export const ROOT = resolve(__dirname, '..', '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli', 'main.js');

export function tempDir(prefix = 'converge-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function writeSpec(dir: string, name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run the real `converge` binary to completion. */
export function runCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start the real `converge` binary without waiting. */
export function startCli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [CLI, ...args], { cwd: options.cwd ?? ROOT, env: { ...process.env, ...options.env }, stdio: 'pipe' });
}

/** The seed answer's model, as a TrainRequest-ready parameter set for small tests. */
export const SMALL_SPEC = (name: string, extra = '') => `name: ${name}
seed: 3
repeats: 2
train:
  epochs: 3
grid:
  seq_len: [12]
  n_samples: [10, 13]
  batch_size: [1, 4]
${extra}`;
