import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ParamValue } from '../spec';
import { formatCommandLine } from './argv';
import { FileFollower } from './file-follower';
import { LineSplitter } from './lines';
import { METRICS_ENV, MetricsStream, type EpochRecord, type ProtocolWarning } from './metrics-protocol';
import { ByteTail, CappedLog } from './output-log';
import { DEFAULT_GRACE_MS, KILL_SETTLE_MS, endGroup, groupAlive, processRecordOf, type ProcessRecord } from './process-group';

/**
 * One run of a command trainer, start to end: the program runs without a shell as the leader of
 * its own process group, with the run's values in its environment; its metrics are followed as
 * they are written; its output is kept (capped) in a log file; stopping it (Ctrl-C, SIGTERM,
 * --timeout, all through an AbortSignal) ends its whole group. It resolves once no process of the
 * group is left, so nothing it started outlives the run.
 */

export interface CommandRunOptions {
  /** The expanded argv (expandArgv): program, then its arguments. */
  argv: readonly string[];
  /** Working directory of the program (the sweep file's folder, typically). */
  cwd: string;
  /** The run's folder, created if needed: params.json, metrics.jsonl and output.log go here. */
  runDir: string;
  runId: string;
  seed: number;
  /** The run's typed parameters, written to CONVERGE_PARAMS as one JSON object. */
  params: Readonly<Record<string, ParamValue>>;
  /** The device this run may use: CONVERGE_DEVICE and CUDA_VISIBLE_DEVICES. */
  device?: string;
  /** The environment the run inherits. @default process.env */
  env?: NodeJS.ProcessEnv;
  /** Ends the run: its group gets SIGTERM, then SIGKILL after `graceMs`. */
  signal?: AbortSignal;
  /** @default 5000 (DEFAULT_GRACE_MS) */
  graceMs?: number;
  /** The log file keeps this much output, then marks the cut and counts the rest. @default 10 MiB */
  logCapBytes?: number;
  /** Bytes kept of each stream for the database. @default 4096 */
  tailBytes?: number;
  /** Lines of stderr in a failed run's error text. @default 20 */
  errorLines?: number;
  /** How often the metrics file is read while nothing is printed. @default 100 */
  pollMs?: number;
  /** The process just started: record it (endOrphanGroup needs it after a kill -9 of converge). */
  onStart?: (process: ProcessRecord) => void;
  /** Each epoch as soon as it is read, in increasing order. A throw fails the run with its message. */
  onEpoch?: (record: EpochRecord) => void;
  /** The run's first metrics line that was not a record (later ones are counted in `badLines`). */
  onWarning?: (warning: ProtocolWarning) => void;
}

/**
 * `finished`: exit status 0 and the protocol kept. `failed`: non-zero status, a signal, the program
 * could not start, or the protocol broken (with `error` saying which). `aborted`: stopped through
 * the signal; not the run's fault, so a resume should train it again.
 */
export type CommandRunStatus = 'finished' | 'failed' | 'aborted';

export interface CommandRunResult {
  status: CommandRunStatus;
  /** Exit status of the program, null when a signal ended it or it never started. */
  exitCode: number | null;
  /** The signal that ended the program (SIGTERM, SIGKILL, SIGSEGV…), if one did. */
  exitSignal: NodeJS.Signals | null;
  /** Why a failed or aborted run ended, for the run's error column: first line the cause, then the last lines of stderr when they help. */
  error?: string;
  epochs: EpochRecord[];
  /** Metrics lines skipped as not records. */
  badLines: number;
  stdoutTail: string;
  stderrTail: string;
  logPath: string;
  /** Output bytes the program wrote in all (kept or not). */
  outputBytes: number;
  logCut: boolean;
  /** Absent when the program never started. */
  process?: ProcessRecord;
  paramsPath: string;
  metricsPath: string;
  seconds: number;
}

export const DEFAULT_LOG_CAP_BYTES = 10 * 1024 * 1024;
export const DEFAULT_TAIL_BYTES = 4096;

/** The files of one run inside its folder. */
export function runFiles(runDir: string): { params: string; metrics: string; log: string } {
  return { params: join(runDir, 'params.json'), metrics: join(runDir, 'metrics.jsonl'), log: join(runDir, 'output.log') };
}

/** The environment of a run: inherited, plus the run's values. */
export function runEnvironment(o: Pick<CommandRunOptions, 'env' | 'runId' | 'seed' | 'device' | 'runDir'>): NodeJS.ProcessEnv {
  const files = runFiles(o.runDir);
  const env: NodeJS.ProcessEnv = {
    ...(o.env ?? process.env),
    CONVERGE_RUN_ID: o.runId,
    CONVERGE_SEED: String(o.seed),
    CONVERGE_PARAMS: files.params,
    [METRICS_ENV]: files.metrics,
    CONVERGE_RUN_DIR: o.runDir,
  };
  // Python block-buffers a piped stdout: unbuffered, its lines (and the tail of a crash) arrive as printed.
  env.PYTHONUNBUFFERED ??= '1';
  // Without a device the inherited CUDA_VISIBLE_DEVICES stands (the user's own choice); a
  // CONVERGE_DEVICE inherited from an enclosing run would be a lie.
  delete env.CONVERGE_DEVICE;
  if (o.device !== undefined) {
    env.CONVERGE_DEVICE = o.device;
    env.CUDA_VISIBLE_DEVICES = o.device;
  }
  return env;
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal !== null ? `killed by ${signal}` : `exited with status ${code}`;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function runCommand(o: CommandRunOptions): Promise<CommandRunResult> {
  const started = Date.now();
  const graceMs = o.graceMs ?? DEFAULT_GRACE_MS;
  const files = runFiles(o.runDir);
  mkdirSync(o.runDir, { recursive: true });
  writeFileSync(files.params, `${JSON.stringify(o.params)}\n`);
  // Created empty before the program starts, so it can open it for appending straight away.
  writeFileSync(files.metrics, '');
  const log = new CappedLog(files.log, o.logCapBytes ?? DEFAULT_LOG_CAP_BYTES);
  const stdoutTail = new ByteTail(o.tailBytes ?? DEFAULT_TAIL_BYTES);
  const stderrTail = new ByteTail(o.tailBytes ?? DEFAULT_TAIL_BYTES);

  // The first reason the run must end early (abort, protocol failure); the program's own exit otherwise.
  let stopped: { status: 'failed' | 'aborted'; reason: string } | undefined;
  let ending: Promise<boolean> | undefined;
  let pgid: number | undefined;
  let exited = false;
  const stop = (status: 'failed' | 'aborted', reason: string) => {
    if (stopped !== undefined) return;
    stopped = { status, reason };
    if (pgid === undefined || exited) return;
    log.note(`${reason}: SIGTERM to the run's process group, SIGKILL after ${graceMs} ms`);
    ending = endGroup(pgid, graceMs).catch(() => false);
  };

  const metrics = new MetricsStream({
    onEpoch: (record) => {
      try {
        o.onEpoch?.(record);
      } catch (e) {
        stop('failed', `recording epoch ${record.epoch} failed: ${messageOf(e)}`);
      }
    },
    onWarning: o.onWarning,
    onFailure: (reason) => stop('failed', reason),
  });
  const fileLines = new LineSplitter((line, n) => metrics.pushFileLine(line, n));
  const follower = new FileFollower(
    files.metrics,
    (chunk) => fileLines.push(chunk),
    () => stop('failed', `${METRICS_ENV} was truncated while the run wrote it; open it for appending (mode 'a'), once`),
  );
  const stdoutLines = new LineSplitter((line, n) => metrics.pushStdoutLine(line, n), { carriageReturnOverwrites: true });

  const result = (status: CommandRunStatus, fields: Partial<CommandRunResult>): CommandRunResult => {
    follower.close();
    log.close();
    return {
      status,
      exitCode: null,
      exitSignal: null,
      epochs: [...metrics.epochs],
      badLines: metrics.badLines,
      stdoutTail: stdoutTail.text(),
      stderrTail: stderrTail.text(),
      logPath: files.log,
      outputBytes: log.totalBytes,
      logCut: log.cut,
      paramsPath: files.params,
      metricsPath: files.metrics,
      seconds: (Date.now() - started) / 1000,
      ...fields,
    };
  };

  if (o.signal?.aborted) return result('aborted', { error: `stopped before it started: ${reasonText(o.signal.reason)}` });
  const program = o.argv[0];
  if (program === undefined) return result('failed', { error: 'the command is empty' });
  if (!existsSync(o.cwd)) return result('failed', { error: `could not start ${formatCommandLine(o.argv)}: the working directory ${o.cwd} does not exist` });

  const child = spawn(program, o.argv.slice(1), { cwd: o.cwd, env: runEnvironment(o), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  if (child.pid === undefined) {
    const error = await new Promise<Error>((resolve) => child.once('error', resolve));
    const code = (error as NodeJS.ErrnoException).code;
    const hint = code === 'ENOENT' ? `: "${program}" is not on PATH or does not exist` : code === 'EACCES' ? `: "${program}" is not executable` : `: ${error.message}`;
    return result('failed', { error: `could not start ${formatCommandLine(o.argv)}${hint}` });
  }
  child.on('error', () => {}); // a failed kill() after the group ended: nothing to do
  pgid = child.pid;
  const processRecord = processRecordOf(child.pid);
  try {
    o.onStart?.(processRecord);
  } catch (e) {
    stop('failed', `recording the run's process failed: ${messageOf(e)}`);
  }

  // An abort after the program exited changes nothing: the run ended on its own.
  const onAbort = () => exited || stop('aborted', reasonText(o.signal?.reason));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  child.stdout.on('data', (chunk: Buffer) => {
    follower.drain();
    log.write(chunk);
    stdoutTail.push(chunk);
    stdoutLines.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    log.write(chunk);
    stderrTail.push(chunk);
  });
  const streamsClosed = Promise.all([new Promise((r) => child.stdout.once('close', r)), new Promise((r) => child.stderr.once('close', r))]);
  const poll = setInterval(() => follower.drain(), o.pollMs ?? 100);

  const { code, signal } = await exit;
  exited = true;
  // Whatever the leader left behind in its group (a forked worker, a background job) ends with it.
  if (ending === undefined && groupAlive(pgid)) {
    log.note(`the command ${describeExit(code, signal)} and left processes in its group: SIGTERM to them, SIGKILL after ${graceMs} ms`);
    ending = endGroup(pgid, graceMs).catch(() => false);
  }
  const groupGone = ending === undefined ? true : await ending;
  if (!groupGone) log.note(`a process of the run's group survived SIGKILL (uninterruptible sleep?)`);
  // The pipes close when the last process holding them ends; one that left the group (setsid) may keep them open.
  const closed = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), KILL_SETTLE_MS);
    void streamsClosed.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!closed) {
    log.note(`the output pipes stayed open after the run's group ended (a process outside the group holds them); stopped reading`);
    child.stdout.destroy();
    child.stderr.destroy();
  }
  clearInterval(poll);
  o.signal?.removeEventListener('abort', onAbort);
  follower.drain();
  fileLines.end();
  stdoutLines.end();
  metrics.end();

  const exitFields = { exitCode: code, exitSignal: signal, process: processRecord };
  // Read after the final drain: a protocol failure in the last lines counts too.
  if (stopped) return result(stopped.status, { ...exitFields, error: stopped.reason });
  if (code === 0) return result('finished', exitFields);
  const stderrLines = stderrTail.lastLines(o.errorLines ?? 20);
  const error = `${formatCommandLine(o.argv)} ${describeExit(code, signal)}${stderrLines.trim() ? `; the last lines of its stderr:\n${stderrLines}` : ' (its stderr was empty)'}`;
  return result('failed', { ...exitFields, error });
}

function reasonText(reason: unknown): string {
  if (reason === undefined) return 'stopped';
  if (reason instanceof Error) return reason.name === 'TimeoutError' ? 'timed out' : reason.message;
  return String(reason);
}
