import type { Command } from 'commander';
import { join } from 'node:path';
import { ConvergeError, EXIT } from '../errors';
import { expandPlan } from '../grid';
import { TrainPool, defaultWorkers } from '../pool/pool';
import { loadSpec } from '../spec';
import { openDb, ownerId, readProgress, readRuns, readSweep, syncPlan } from '../store';
import { SweepExecution } from '../sweep/execute';
import { kernelWanted } from '../train/fused/kernel';
import { cellToJson, formatCells, summarizeCells } from '../report';
import { nonNegativeInt, parseShard, positiveInt, positiveNumber, writeErr, writeOut, formatDuration, type Shard } from './common';
import { RunProgress } from './progress';

/** Grids larger than this need --yes: a typo in an axis should not start a week of training. */
export const LARGE_SWEEP_RUNS = 10_000;

interface RunOptions {
  db?: string;
  workers: number;
  retries: number;
  timeout?: number;
  maxHeapMb?: number;
  shard?: Shard;
  yes?: boolean;
  quiet?: boolean;
  json?: boolean;
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
    .option('--timeout <seconds>', 'stop a run after this many seconds and record it as timed_out', positiveNumber('--timeout'))
    .option('--max-heap-mb <mb>', 'heap limit of one worker thread in MB: a run over it fails alone (its thread is replaced) instead of exhausting the machine (default 2048)', positiveInt('--max-heap-mb'))
    .option('--shard <i/N>', 'train only the i-th of N deterministic shares of the runs (one database per shard; combine with `converge merge`)', parseShard)
    .option('-y, --yes', `allow sweeps of more than ${LARGE_SWEEP_RUNS} runs`)
    .option('-q, --quiet', 'no progress output, only the summary')
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Runs are keyed by their fully resolved parameters and seed: runs already done are never
retrained, runs cut off by a crash or kill are redone, and changing the spec adds only the new
runs. Ctrl-C stops cleanly (a second Ctrl-C stops at once); run the same command to resume.

The fused engine trains on a WebAssembly SIMD kernel; CONVERGE_KERNEL=js selects its plain-JS
kernel instead (the reference). A worker that cannot load the WebAssembly kernel trains on the JS
one and says so once; runs.backend records which kernel ran (fused-wasm-simd or fused-js).

Exit codes: 0 all runs done, 1 some runs failed, 2 bad input, 3 database problem, 130 interrupted.

Examples:
  converge run sweeps/smoke.yaml
  converge run sweeps/seed-finding.yaml --workers 2 --timeout 600
  converge run sweeps/answer-cases.yaml --shard 3/8 --db results/answer-3.db`,
    )
    .action(async (specPath: string, opts: RunOptions) => {
      const code = await runCommand(specPath, opts);
      process.exitCode = code;
    });
}

async function runCommand(specPath: string, opts: RunOptions): Promise<number> {
  // Checked here, before anything is written, rather than failing every run in the workers.
  kernelWanted();
  const spec = loadSpec(specPath);
  const full = expandPlan(spec);
  // A shard's database holds only its share of the runs, so `merge` can simply union shards.
  const plan = opts.shard ? { ...full, runs: full.runs.filter((r) => inShard(r.runKey, opts.shard!)) } : full;
  if (full.runs.length > LARGE_SWEEP_RUNS && !opts.yes) {
    throw new ConvergeError(
      'spec.tooLarge',
      `${specPath}: the sweep has ${full.runs.length} runs (more than ${LARGE_SWEEP_RUNS}); check the grid with \`converge plan\`, then pass --yes to run it`,
    );
  }
  const dbPath = opts.db ?? join('results', `${spec.name}.db`);
  const db = openDb(dbPath);
  let pool: TrainPool | undefined;
  let onSigint: (() => void) | undefined;
  try {
    const sync = syncPlan(db, dbPath, spec, plan);
    const human = !opts.json;
    if (human) {
      for (const s of plan.skipped) writeErr(`skipped impossible cell: ${Object.entries(s.axisValues).map(([k, v]) => `${k}=${String(v)}`).join(' ')}: ${s.reason}`);
      if (sync.specChanged) {
        writeErr(`the spec changed since the last run (${sync.changes.join('; ') || 'formatting only'}): ${sync.added} new runs, ${sync.kept} kept, ${sync.retired} from earlier versions kept but no longer reported`);
      }
    }
    const before = readProgress(db);
    const total = before.total;
    const alreadyDone = before.done;
    pool = new TrainPool({ workers: opts.workers, ...(opts.maxHeapMb !== undefined ? { maxHeapMb: opts.maxHeapMb } : {}) });
    const progress = new RunProgress({ total, alreadyDone, axes: plan.axes, tty: Boolean(process.stderr.isTTY) && human, quiet: Boolean(opts.quiet) || !human });
    if (human && !process.stderr.isTTY && !opts.quiet) {
      writeOut(`sweep ${spec.name}: ${total} runs (${alreadyDone} already done) into ${dbPath} with ${pool.workers} workers`);
    }
    const notices = new Set<string>();
    const execution = new SweepExecution({
      db,
      spec,
      pool,
      owner: ownerId(),
      retries: opts.retries,
      timeoutSeconds: opts.timeout ?? 0,
      events: {
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
    onSigint = () => {
      interrupts += 1;
      if (interrupts === 1) {
        progress.stop();
        writeErr('\ninterrupted: stopping the runs in flight (Ctrl-C again to stop at once)…');
        execution.stop();
      } else {
        // Every write is its own transaction and the file is in WAL mode, so stopping here
        // leaves a consistent database; runs left "running" are reclaimed on resume.
        writeErr(`stopped at once; resume with: converge run ${specPath}${opts.db ? ` --db ${opts.db}` : ''}`);
        process.exit(EXIT.interrupted);
      }
    };
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigint);
    const t0 = Date.now();
    let result;
    try {
      result = await execution.execute();
    } finally {
      progress.stop();
    }
    const wall = (Date.now() - t0) / 1000;
    const after = readProgress(db);
    if (result.interrupted) {
      writeErr(`interrupted after ${result.trained} runs; the database is consistent. Resume with: converge run ${specPath}${opts.db ? ` --db ${opts.db}` : ''}`);
      return EXIT.interrupted;
    }
    const sweep = readSweep(db, dbPath);
    const runs = readRuns(db);
    const cells = summarizeCells({ sweepName: sweep.name, axes: sweep.axes, runs, threshold: sweep.threshold, metric: sweep.metric });
    if (opts.json) {
      writeOut(
        JSON.stringify(
          { db: dbPath, trained: result.trained, converged: result.converged, failed: after.failed, total: after.total, done: after.done, wall_seconds: wall, cells: cells.map(cellToJson) },
          null,
          2,
        ),
      );
    } else {
      writeOut(formatCells(cells, sweep.axes, 'table'));
      writeOut(
        `trained ${result.trained} runs in ${formatDuration(wall)}; ${after.done}/${after.total} done, ${after.failed} failed` +
          (after.failed ? ` (see \`converge query ${dbPath} --where "status=failed"\`; retry with --retries)` : ''),
      );
    }
    return after.failed > 0 ? EXIT.runsFailed : EXIT.ok;
  } finally {
    await pool?.destroy();
    db.close();
    // Only now: shutting the pool down takes a few event-loop turns, and a second Ctrl-C in them
    // must still take the "stop at once" path (exit 130 with the resume hint) rather than
    // Node's default of dying by the signal.
    if (onSigint) {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigint);
    }
  }
}
