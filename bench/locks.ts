/**
 * How long a runner holds the database's write lock: a sweep of trivial runs trained by two
 * `converge run` on one database with a `status --watch` beside them (issue 17 item 7). Every
 * runner write goes through store/busy.ts; with CONVERGE_WRITE_LOG set each one is timed, the
 * writer's busy timeout is 0 (SQLite never waits inside an attempt, the retry loop does), so the
 * time of the attempt that succeeds is the time the write held the lock. The longest of them is
 * how long any other process had to wait at most for one write.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withReadOnlyDb } from '../src/store';

/** Runs in the sweep: trivial ones (L=9, N=10, 1 epoch), so claims, epochs and finishes come fast. */
export const LOCK_BENCH_RUNS = 1000;

interface WriteStats {
  count: number;
  maxMs: number;
  totalMs: number;
  maxWaitMs: number;
}

export interface LockBench {
  runs: number;
  wallSeconds: number;
  /** Per kind of write (claim, epoch, epochs, finish, heartbeat, sync, …), over both runners. */
  byKind: Record<string, WriteStats>;
  longest: { kind: string; ms: number };
  longestWaitMs: number;
}

function converge(cli: string, cwd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env, stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`converge ${args.join(' ')} exited ${code}`))));
  });
}

function sweepRecorded(file: string): boolean {
  try {
    return existsSync(file) && withReadOnlyDb(file, (db) => db.prepare(`SELECT count(*) FROM sweep`).pluck().get() === 1);
  } catch {
    return false; // not created or not migrated yet
  }
}

export async function benchWriteLocks(cli: string): Promise<LockBench> {
  const dir = mkdtempSync(join(tmpdir(), 'converge-bench-locks-'));
  const log = join(dir, 'writes.jsonl');
  writeFileSync(
    join(dir, 'locks.yaml'),
    `name: locks\nseed: 1\nrepeats: ${LOCK_BENCH_RUNS / 2}\ndata: {seq_len: 9, n_samples: 10}\ntrain: {epochs: 1}\ngrid:\n  batch_size: [1, 2]\n`,
  );
  const env = { ...process.env, CONVERGE_WRITE_LOG: log, CONVERGE_FAULT: '' };
  const args = ['run', 'locks.yaml', '--db', 'locks.db', '--workers', '1', '--quiet'];
  const t0 = performance.now();
  const runners = [converge(cli, dir, args, env), converge(cli, dir, args, env)];
  // The reader opens once the sweep is recorded (status refuses a database that holds none yet).
  while (!sweepRecorded(join(dir, 'locks.db'))) await new Promise((r) => setTimeout(r, 50));
  const watch = converge(cli, dir, ['status', 'locks.db', '--watch'], { ...process.env, CONVERGE_FAULT: '' });
  await Promise.all([...runners, watch]);
  const wallSeconds = (performance.now() - t0) / 1000;
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  rmSync(dir, { recursive: true, force: true });

  const byKind: Record<string, WriteStats> = {};
  for (const line of lines) {
    const { what, count, maxMs, totalMs, maxWaitMs } = JSON.parse(line) as WriteStats & { what: string };
    const s = (byKind[what] ??= { count: 0, maxMs: 0, totalMs: 0, maxWaitMs: 0 });
    s.count += count;
    s.totalMs += totalMs;
    s.maxMs = Math.max(s.maxMs, maxMs);
    s.maxWaitMs = Math.max(s.maxWaitMs, maxWaitMs);
  }
  const kinds = Object.entries(byKind);
  const [kind, top] = kinds.reduce((a, b) => (b[1].maxMs > a[1].maxMs ? b : a));
  return { runs: LOCK_BENCH_RUNS, wallSeconds, byKind, longest: { kind, ms: top.maxMs }, longestWaitMs: Math.max(...kinds.map(([, s]) => s.maxWaitMs)) };
}

export function lockBenchLines(r: LockBench): string[] {
  const kinds = Object.entries(r.byKind).sort((a, b) => b[1].maxMs - a[1].maxMs);
  return [
    `  ${r.runs} trivial runs (L=9, N=10, 1 epoch) by two \`converge run\` (1 worker each) on one database, \`status --watch\` beside them: ${r.wallSeconds.toFixed(1)} s wall`,
    `  longest write transaction (lock held; timed with CONVERGE_WRITE_LOG, see bench/locks.ts): ${r.longest.ms.toFixed(1)} ms (${r.longest.kind}); longest wait for the lock: ${r.longestWaitMs.toFixed(1)} ms`,
    ...kinds.map(([k, s]) => `    ${k.padEnd(9)} ${String(s.count).padStart(6)} writes, longest ${s.maxMs.toFixed(1).padStart(7)} ms, mean ${(s.totalMs / s.count).toFixed(2).padStart(6)} ms`),
  ];
}
