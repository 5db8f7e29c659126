import type { Command } from 'commander';
import { ConvergeError, EXIT } from '../errors';
import { expandPlan, type PlannedRun } from '../grid';
import { loadSpecAsync } from '../spec';
import { readCounts, readProgress, readRuns, readSweep, readSweepPace, retryWhileBusy, syncPlan } from '../store';
import { SweepExecution } from '../sweep/execute';
import { adaptivePlan } from '../sweep/adaptive';
import { sweepEtaSeconds } from '../sweep/eta';
import { cellToJson, formatCells, summarizeCells } from '../report';
import { invokedCommandWithout, parseDuration, parseStopAt, plural, writeErr, writeOut, formatDuration, type Shard } from './common';
import { addTrainOptions, drive, stoppingHelp, type TrainOptions } from './driver';
import { RunProgress } from './progress';

/** Grids larger than this need --yes: a typo in an axis should not start a week of training. */
export const LARGE_SWEEP_RUNS = 10_000;

interface RunOptions extends TrainOptions {
  yes?: boolean;
  /** --stop-at, epoch ms. */
  stopAt?: number;
  /** --max-time, ms from the start of the command. */
  maxTime?: number;
}

/** The options a resume hint leaves out: the same command without them trains to the end. */
const TIME_LIMITS = ['--stop-at', '--max-time'];

/** Which runs belong to shard i of N: a stable hash of the run key, so shards never overlap. */
export function inShard(runKey: string, shard: Shard): boolean {
  return parseInt(runKey.slice(0, 8), 16) % shard.count === shard.index - 1;
}

export function registerRun(program: Command): void {
  addTrainOptions(
    program
      .command('run')
      .description('train every run of a sweep that the database does not have yet (resumable: the same command again continues)')
      .argument('<spec>', 'sweep definition (.yaml)'),
    {
      shard: 'train only the i-th of N deterministic shares of the runs; shards may share one database on one host, or write one each (--db) and be combined with `converge merge`',
      json: 'print the summary as JSON',
      set: 'override a spec key, e.g. --set train.epochs=100 --set grid.n_samples=[80,130] (repeatable; the value is YAML; recorded with the spec in the database)',
    },
  )
    .option('-y, --yes', `allow sweeps of more than ${LARGE_SWEEP_RUNS} runs`)
    .option('--stop-at <time>', 'start no run after this time (HH:MM local, tomorrow if already past today, or an ISO timestamp); the runs in flight finish, then converge exits 4 and prints the command that resumes', parseStopAt('--stop-at'))
    .option('--max-time <duration>', 'start no run after this long (e.g. 90m, 8h, 3600s); the runs in flight finish, then converge exits 4 and prints the command that resumes', parseDuration('--max-time'))
    .addHelpText(
      'after',
      `
Runs are keyed by their fully resolved parameters and seed: runs already done are never
retrained, runs cut off by a crash or kill are redone, and changing the spec adds only the new
runs. A sharded run records the whole plan in its database and trains only its share, so shards
can share one database on one host without hiding each other's runs.

The fused engine trains on a WebAssembly SIMD kernel; CONVERGE_KERNEL=js selects its plain-JS
kernel instead (the reference). A worker that cannot load the WebAssembly kernel trains on the JS
one and says so once; runs.backend records which kernel ran (fused-wasm-simd or fused-js).

${stoppingHelp('run')}

Examples:
  converge run sweeps/smoke.yaml
  converge run sweeps/seed-finding.yaml --workers 2 --timeout 600
  converge run sweeps/answer-cases.yaml --shard 3/8 --db results/answer-3.db
  converge run sweeps/smoke.yaml --set train.epochs=100 --set grid.n_samples=[10,20]
  converge run sweeps/answer-cases.yaml --stop-at 07:00   # overnight: no new run after 7 am`,
    )
    .action(async (specPath: string, opts: RunOptions) => {
      const code = await runCommand(specPath, opts);
      process.exitCode = code;
    });
}

/** The earlier of --stop-at and --max-time, and how to name it; undefined when neither is given. */
function timeLimit(opts: RunOptions, startedAt: number): { at: number; label: string } | undefined {
  const limits = [
    ...(opts.stopAt !== undefined ? [{ at: opts.stopAt, label: `--stop-at ${new Date(opts.stopAt).toLocaleString()}` }] : []),
    ...(opts.maxTime !== undefined ? [{ at: startedAt + opts.maxTime, label: `--max-time ${formatDuration(opts.maxTime / 1000)}` }] : []),
  ];
  return limits.sort((a, b) => a.at - b.at)[0];
}

/** At the time limit, `execution` claims no more runs (the ones in flight finish); returns the disarm. */
function armTimeLimit(limit: { at: number; label: string } | undefined, execution: SweepExecution, say: (text: string) => void): () => void {
  if (!limit) return () => {};
  let timer: NodeJS.Timeout | undefined;
  const check = () => {
    const left = limit.at - Date.now();
    if (left > 0) {
      // setTimeout holds at most 2^31-1 ms (24.8 days): longer limits re-arm.
      timer = setTimeout(check, Math.min(left, 2 ** 31 - 1));
      return;
    }
    execution.drain();
    say(`${limit.label} reached: starting no more runs; the runs in flight finish`);
  };
  check();
  return () => clearTimeout(timer);
}

async function runCommand(specPath: string, opts: RunOptions): Promise<number> {
  const limit = timeLimit(opts, Date.now());
  // A module trainer's exports (declarations, metric directions) are read by importing it.
  const spec = await loadSpecAsync(specPath, opts.set);
  const initial = expandPlan(spec);
  // Every shard records the WHOLE plan (so in_plan is right for every run, and shards sharing a
  // database never retire each other's runs) and claims only its own keys. `merge` takes each
  // run's most finished copy, whichever shard trained it.
  // With adaptive repeats a shard owns whole cells (by cell key), so it sees every outcome its
  // decisions need; otherwise runs are spread by run key.
  const shardOf = (r: PlannedRun) => inShard(spec.adaptive ? r.cellKey : r.runKey, opts.shard!);
  const keys = opts.shard ? new Set(initial.runs.filter(shardOf).map((r) => r.runKey)) : undefined;
  if (initial.runs.length > LARGE_SWEEP_RUNS && !opts.yes) {
    throw new ConvergeError(
      'spec.tooLarge',
      `${specPath}: the sweep has ${initial.runs.length} runs (more than ${LARGE_SWEEP_RUNS}); check the grid with \`converge plan\`, then pass --yes to run it`,
    );
  }
  return drive('run', spec, opts, async (session) => {
    const { db, dbPath } = session;
    let plan = adaptivePlan(db, spec, initial);
    if (keys) for (const r of plan.runs) if (shardOf(r)) keys.add(r.runKey);
    const sync = await retryWhileBusy('sync', () => syncPlan(db, dbPath, spec, plan), { onWait: session.onLockWait });
    const human = !opts.json;
    if (human) {
      for (const s of plan.skipped) writeErr(`skipped impossible cell: ${Object.entries(s.axisValues).map(([k, v]) => `${k}=${String(v)}`).join(' ')}: ${s.reason}`);
      if (sync.specChanged) {
        writeErr(`the spec changed since the last run (${sync.changes.join('; ') || 'formatting only'}): ${sync.added} new runs, ${sync.kept} kept, ${sync.retired} from earlier versions kept but no longer reported`);
      }
      if (sync.rescored) writeErr(`re-scored ${sync.rescored.runs} runs: ${sync.rescored.text}`);
    }
    const before = readProgress(db);
    const workers = session.workers;
    const progress = new RunProgress({
      read: () => {
        const c = readCounts(db);
        const eta = sweepEtaSeconds(readSweepPace(db), Date.now() / 1000, Math.max(workers, c.running));
        return { done: c.done, total: c.total, converged: c.converged, failed: c.failed, etaSeconds: eta };
      },
      axes: plan.axes,
      tty: Boolean(process.stderr.isTTY) && human,
      quiet: !session.chatty,
    });
    session.onInterrupt(() => progress.stop());
    // On a terminal the progress bar shows the sweep; elsewhere a first line says what runs.
    if (!process.stderr.isTTY) {
      const share = keys ? `, shard ${opts.shard!.index}/${opts.shard!.count} trains ${keys.size} of them` : '';
      session.say(`sweep ${spec.name}: ${plural(before.total, 'run')} (${before.done} already done${share}) into ${dbPath} with ${plural(workers, 'worker')}`);
    }
    const execution = new SweepExecution({ ...session.executeOptions({ onRunEnd: (end) => progress.runEnded(end) }), db, spec, keys });
    session.track(execution);
    const disarm = armTimeLimit(limit, execution, (text) => {
      if (session.chatty) writeErr(text);
    });
    const t0 = Date.now();
    let result;
    try {
      result = await execution.execute();
      // Adaptive repeats: grow the undecided cells by a batch and train, until no cell grows.
      while (spec.adaptive && !result.interrupted && !result.databaseFailed && !result.breaker && !result.drained) {
        const grown = adaptivePlan(db, spec, plan);
        if (grown.runs.length === plan.runs.length) break;
        plan = grown;
        if (keys) for (const r of plan.runs) if (shardOf(r)) keys.add(r.runKey);
        await retryWhileBusy('sync', () => syncPlan(db, dbPath, spec, plan), { onWait: session.onLockWait });
        const more = await execution.execute();
        result = { ...more, ...(more.breaker !== undefined ? { breaker: more.breaker } : {}), trained: result.trained + more.trained, converged: result.converged + more.converged, failed: result.failed + more.failed };
      }
    } finally {
      disarm();
      progress.stop();
    }
    const wall = (Date.now() - t0) / 1000;
    const stopped = session.stoppedEarly(result);
    if (stopped !== undefined) return stopped;
    if (result.drained) {
      const c = readCounts(db);
      const mineLeft = keys ? readRuns(db).filter((r) => keys.has(r.runKey) && (r.status === 'pending' || r.status === 'running')).length : c.pending + c.running;
      const grows = spec.adaptive !== undefined && adaptivePlan(db, spec, plan).runs.length !== plan.runs.length;
      if (mineLeft > 0 || grows) {
        writeErr(
          `converge: stopped at the time limit (${limit!.label}): trained ${plural(result.trained, 'run')} in ${formatDuration(wall)}; ${c.done}/${c.total} done, ${c.failed} failed, ${mineLeft} not started${grows ? ' (and adaptive repeats to add)' : ''}. ` +
            `The runs in flight finished; the database is consistent. Resume with: ${invokedCommandWithout(TIME_LIMITS)}`,
        );
        return EXIT.timeLimit;
      }
    }
    if (result.breaker !== undefined) {
      writeErr(`converge: ${result.breaker}`);
      writeErr(`fix the trainer (its whole output is in ${dbPath}.runs/), then resume with: ${session.resumeHint}`);
      return EXIT.runsFailed;
    }
    const after = readProgress(db);
    const sweep = readSweep(db, dbPath);
    const runs = readRuns(db);
    const mine = keys ? runs.filter((r) => keys.has(r.runKey)) : runs;
    const failedHere = mine.filter((r) => r.status === 'failed').length;
    const cells = summarizeCells({ sweepName: sweep.name, axes: sweep.axes, runs, threshold: sweep.threshold, metric: sweep.metric, ...(sweep.trainer !== 'builtin' ? { trainer: sweep.trainer, direction: sweep.direction ?? 'below', at: sweep.at ?? 'last' } : {}) });
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
  });
}
