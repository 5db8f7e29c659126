import type { Command } from 'commander';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConvergeError, EXIT } from '../errors';
import { expandPlan, type PlannedRun } from '../grid';
import { TrainPool, defaultWorkers } from '../pool/pool';
import { loadSpec } from '../spec';
import { closeDb, openDb, ownerId, readCounts, readProgress, readRuns, readSweep, readSweepPace, syncPlan } from '../store';
import { SweepExecution } from '../sweep/execute';
import { adaptivePlan } from '../sweep/adaptive';
import { sweepEtaSeconds } from '../sweep/eta';
import { kernelWanted } from '../train/fused/kernel';
import { cellToJson, formatCells, summarizeCells } from '../report';
import { collect, invokedCommand, plural, nonNegativeInt, onOutputClosed, parseShard, positiveInt, positiveNumber, writeErr, writeOut, formatDuration, type Shard } from './common';
import { RunProgress } from './progress';

/** Grids larger than this need --yes: a typo in an axis should not start a week of training. */
export const LARGE_SWEEP_RUNS = 10_000;

interface RunOptions {
  db?: string;
  workers: number;
  retries: number;
  maxAttempts: number;
  timeout?: number;
  maxHeapMb?: number;
  shard?: Shard;
  yes?: boolean;
  quiet?: boolean;
  json?: boolean;
  set: string[];
}

/** Which runs belong to shard i of N: a stable hash of the run key, so shards never overlap. */
export function inShard(runKey: string, shard: Shard): boolean {
  return parseInt(runKey.slice(0, 8), 16) % shard.count === shard.index - 1;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('train every run of a sweep that the database does not have yet (resumable: the same command again continues)')
    .argument('<spec>', 'sweep definition (.yaml)')
    .option('--db <path>', 'result database (default: results/<name>.db)')
    .option('-w, --workers <n>', 'worker threads training in parallel', positiveInt('--workers'), defaultWorkers())
    .option('--retries <n>', 'retry a failed run up to n times', nonNegativeInt('--retries'), 0)
    .option('--max-attempts <n>', 'a run whose process died (killed, crashed: its claim expired) this many times is recorded failed instead of claimed again', positiveInt('--max-attempts'), 3)
    .option('--timeout <seconds>', 'stop a run after this many seconds and record it as timed_out', positiveNumber('--timeout'))
    .option('--max-heap-mb <mb>', 'heap limit of one worker thread in MB: a run over it fails alone (its thread is replaced) instead of exhausting the machine (default 2048)', positiveInt('--max-heap-mb'))
    .option('--shard <i/N>', 'train only the i-th of N deterministic shares of the runs; shards may share one database on one host, or write one each (--db) and be combined with `converge merge`', parseShard)
    .option('-y, --yes', `allow sweeps of more than ${LARGE_SWEEP_RUNS} runs`)
    .option('-q, --quiet', 'no progress output, only the summary')
    .option('--json', 'print the summary as JSON')
    .option('--set <key=value>', 'override a spec key, e.g. --set train.epochs=100 --set grid.n_samples=[80,130] (repeatable; the value is YAML; recorded with the spec in the database)', collect, [])
    .addHelpText(
      'after',
      `
Runs are keyed by their fully resolved parameters and seed: runs already done are never
retrained, runs cut off by a crash or kill are redone, and changing the spec adds only the new
runs. Ctrl-C or SIGTERM stops cleanly (a second one stops at once); run the same command to
resume. When the reader of the output goes away (\`| head\`), the run stops the same way.
A sharded run records the whole plan in its database and trains only its share, so shards
can share one database on one host without hiding each other's runs.

The fused engine trains on a WebAssembly SIMD kernel; CONVERGE_KERNEL=js selects its plain-JS
kernel instead (the reference). A worker that cannot load the WebAssembly kernel trains on the JS
one and says so once; runs.backend records which kernel ran (fused-wasm-simd or fused-js).

Exit codes: 0 all runs done, 1 some runs failed, 2 bad input, 3 database problem,
130 interrupted (Ctrl-C, output closed), 143 terminated (SIGTERM).

Examples:
  converge run sweeps/smoke.yaml
  converge run sweeps/seed-finding.yaml --workers 2 --timeout 600
  converge run sweeps/answer-cases.yaml --shard 3/8 --db results/answer-3.db
  converge run sweeps/smoke.yaml --set train.epochs=100 --set grid.n_samples=[10,20]`,
    )
    .action(async (specPath: string, opts: RunOptions) => {
      const code = await runCommand(specPath, opts);
      process.exitCode = code;
    });
}

async function runCommand(specPath: string, opts: RunOptions): Promise<number> {
  // Checked here, before anything is written, rather than failing every run in the workers.
  kernelWanted();
  const spec = loadSpec(specPath, opts.set);
  let plan = expandPlan(spec);
  // Every shard records the WHOLE plan (so in_plan is right for every run, and shards sharing a
  // database never retire each other's runs) and claims only its own keys. `merge` takes each
  // run's most finished copy, whichever shard trained it.
  // With adaptive repeats a shard owns whole cells (by cell key), so it sees every outcome its
  // decisions need; otherwise runs are spread by run key.
  const shardOf = (r: PlannedRun) => inShard(spec.adaptive ? r.cellKey : r.runKey, opts.shard!);
  const keys = opts.shard ? new Set(plan.runs.filter(shardOf).map((r) => r.runKey)) : undefined;
  if (plan.runs.length > LARGE_SWEEP_RUNS && !opts.yes) {
    throw new ConvergeError(
      'spec.tooLarge',
      `${specPath}: the sweep has ${plan.runs.length} runs (more than ${LARGE_SWEEP_RUNS}); check the grid with \`converge plan\`, then pass --yes to run it`,
    );
  }
  const dbPath = opts.db ?? join('results', `${spec.name}.db`);
  // The default folder is ours to make; a folder the user named must exist (a typo there should
  // not silently start a new database somewhere else).
  if (opts.db === undefined) mkdirSync('results', { recursive: true });
  const db = openDb(dbPath, { sweep: spec.name });
  let pool: TrainPool | undefined;
  let onSigint: (() => void) | undefined;
  let onSigterm: (() => void) | undefined;
  let offClosed: (() => void) | undefined;
  try {
    plan = adaptivePlan(db, spec, plan);
    if (keys) for (const r of plan.runs) if (shardOf(r)) keys.add(r.runKey);
    const sync = syncPlan(db, dbPath, spec, plan);
    const human = !opts.json;
    if (human) {
      for (const s of plan.skipped) writeErr(`skipped impossible cell: ${Object.entries(s.axisValues).map(([k, v]) => `${k}=${String(v)}`).join(' ')}: ${s.reason}`);
      if (sync.specChanged) {
        writeErr(`the spec changed since the last run (${sync.changes.join('; ') || 'formatting only'}): ${sync.added} new runs, ${sync.kept} kept, ${sync.retired} from earlier versions kept but no longer reported`);
      }
      if (sync.rescored) writeErr(`re-scored ${sync.rescored.runs} runs: ${sync.rescored.text}`);
    }
    const before = readProgress(db);
    const total = before.total;
    const alreadyDone = before.done;
    pool = new TrainPool({ workers: opts.workers, ...(opts.maxHeapMb !== undefined ? { maxHeapMb: opts.maxHeapMb } : {}) });
    const workers = pool.workers;
    const progress = new RunProgress({
      read: () => {
        const c = readCounts(db);
        const eta = sweepEtaSeconds(readSweepPace(db), Date.now() / 1000, Math.max(workers, c.running));
        return { done: c.done, total: c.total, converged: c.converged, failed: c.failed, etaSeconds: eta };
      },
      axes: plan.axes,
      tty: Boolean(process.stderr.isTTY) && human,
      quiet: Boolean(opts.quiet) || !human,
    });
    if (human && !process.stderr.isTTY && !opts.quiet) {
      const share = keys ? `, shard ${opts.shard!.index}/${opts.shard!.count} trains ${keys.size} of them` : '';
      writeOut(`sweep ${spec.name}: ${plural(total, 'run')} (${alreadyDone} already done${share}) into ${dbPath} with ${plural(pool.workers, 'worker')}`);
    }
    const notices = new Set<string>();
    const execution = new SweepExecution({
      db,
      spec,
      pool,
      owner: ownerId(),
      retries: opts.retries,
      maxAttempts: opts.maxAttempts,
      timeoutSeconds: opts.timeout ?? 0,
      keys,
      ...leaseFromEnv(),
      events: {
        onClaimLost: (run) =>
          writeErr(`run ${run.id} (seed ${run.seed}): lost its claim (this process's lease expired and another process took it over); stopped its work here, that process records it`),
        onRunEnd: (end) => {
          // One line per distinct notice, not per run: every worker thread reports it on each run.
          if (end.notice !== undefined && !notices.has(end.notice)) {
            notices.add(end.notice);
            writeErr(`note: ${end.notice}`);
          }
          progress.runEnded(end);
        },
        onWaitForOthers: (held) => {
          if (human && !opts.quiet) writeErr(`waiting for ${held} run(s) held by other \`converge run\` processes (redone here if their owner stops heartbeating)`);
        },
      },
    });
    let interrupts = 0;
    let exitCode: number = EXIT.interrupted;
    // The command as it was invoked, every option included.
    const resumeHint = invokedCommand();
    // SIGTERM (Slurm, Kubernetes, systemd) is the first Ctrl-C with its own exit code, 143;
    // a closed output (`| head`) is a Ctrl-C nobody can see.
    const interrupt = (why: 'SIGINT' | 'SIGTERM' | 'output closed') => {
      interrupts += 1;
      if (interrupts === 1) {
        exitCode = why === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
        progress.stop();
        const how = why === 'SIGINT' ? 'Ctrl-C again' : why === 'SIGTERM' ? 'SIGTERM or Ctrl-C again' : 'Ctrl-C';
        writeErr(`\n${why === 'SIGINT' ? 'interrupted' : why}: stopping the runs in flight (${how} to stop at once)…`);
        execution.stop();
      } else if (why !== 'output closed') {
        // Every write is its own transaction and the file is in WAL mode, so stopping here
        // leaves a consistent database; runs left "running" are reclaimed on resume.
        writeErr(`stopped at once; resume with: ${resumeHint}`);
        process.exit(why === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
      }
    };
    onSigint = () => interrupt('SIGINT');
    onSigterm = () => interrupt('SIGTERM');
    offClosed = onOutputClosed(() => interrupt('output closed'));
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    const t0 = Date.now();
    let result;
    try {
      result = await execution.execute();
      // Adaptive repeats: grow the undecided cells by a batch and train, until no cell grows.
      while (spec.adaptive && !result.interrupted && !result.databaseFailed) {
        const grown = adaptivePlan(db, spec, plan);
        if (grown.runs.length === plan.runs.length) break;
        plan = grown;
        if (keys) for (const r of plan.runs) if (shardOf(r)) keys.add(r.runKey);
        syncPlan(db, dbPath, spec, plan);
        const more = await execution.execute();
        result = { ...more, trained: result.trained + more.trained, converged: result.converged + more.converged, failed: result.failed + more.failed };
      }
    } finally {
      progress.stop();
    }
    const wall = (Date.now() - t0) / 1000;
    const after = readProgress(db);
    if (result.databaseFailed) {
      writeErr(`stopped claiming runs: ${result.databaseFailed}; the runs in flight were given back (or, while the database refuses writes, are redone once their lease expires). Check the database, then resume with: ${resumeHint}`);
      return EXIT.store;
    }
    if (result.interrupted) {
      writeErr(`interrupted after ${plural(result.trained, 'run')}; the database is consistent. Resume with: ${resumeHint}`);
      return exitCode;
    }
    const sweep = readSweep(db, dbPath);
    const runs = readRuns(db);
    const mine = keys ? runs.filter((r) => keys.has(r.runKey)) : runs;
    const failedHere = mine.filter((r) => r.status === 'failed').length;
    const cells = summarizeCells({ sweepName: sweep.name, axes: sweep.axes, runs, threshold: sweep.threshold, metric: sweep.metric });
    if (opts.json) {
      writeOut(
        JSON.stringify(
          { db: dbPath, trained: result.trained, converged: result.converged, failed: after.failed, total: after.total, done: after.done, wall_seconds: wall, rescored: sync.rescored ? { runs: sync.rescored.runs, from: sync.rescored.from, to: sync.rescored.to } : null, cells: cells.map(cellToJson) },
          null,
          2,
        ),
      );
    } else {
      writeOut(formatCells(cells, sweep.axes, 'table'));
      writeOut(
        `trained ${plural(result.trained, 'run')} in ${formatDuration(wall)}; ${after.done}/${after.total} done, ${after.failed} failed` +
          (after.failed ? ` (see \`converge query ${dbPath} --where "status=failed"\`; retry with --retries)` : '') +
          (keys ? `; this shard's ${keys.size} runs: ${mine.filter((r) => r.status === 'done').length} done, ${failedHere} failed` : ''),
      );
    }
    // A shard answers for its own runs: another shard's failure on a shared database is not its exit code.
    return failedHere > 0 ? EXIT.runsFailed : EXIT.ok;
  } finally {
    await pool?.destroy();
    closeDb(db);
    // Only now: shutting the pool down takes a few event-loop turns, and a second Ctrl-C in them
    // must still take the "stop at once" path (exit 130 with the resume hint) rather than
    // Node's default of dying by the signal.
    if (onSigint) process.off('SIGINT', onSigint);
    if (onSigterm) process.off('SIGTERM', onSigterm);
    offClosed?.();
  }
}

/**
 * Test-only: CONVERGE_LEASE_SECONDS shortens the claim lease (default 30 s, heartbeat every
 * lease/4), so the reliability tests can let a real lease expire in seconds.
 */
function leaseFromEnv(): { leaseSeconds?: number } {
  const v = Number(process.env.CONVERGE_LEASE_SECONDS);
  return Number.isFinite(v) && v > 0 ? { leaseSeconds: v } : {};
}
