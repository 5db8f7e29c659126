import { expandArgv, formatCommandLine } from './argv';
import { hashCommandScript } from './code-hash';
import { runCommand } from './command-runner';
import { signalGroup, type ProcessRecord } from './process-group';
import type { CodeIdentity, Executor, JobResult, JobStream, RunJob } from './types';

export interface CommandExecutorOptions {
  /** The argv template (`{name}` placeholders), checked at load. */
  command: readonly string[];
  /** Where the program runs: the sweep file's folder. */
  cwd: string;
  /** Runs at once. */
  workers: number;
  /** SIGTERM → SIGKILL. @default 5000 */
  graceMs?: number;
  /** The environment runs inherit. @default process.env */
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs a command trainer's jobs as child processes of the main thread (runCommand): a thread per
 * run would only wait on a pipe. Each run leads its own process group.
 */
export class CommandExecutor implements Executor {
  readonly slots: number;
  /** Process groups of the runs in flight, for killAll(). */
  private readonly groups = new Set<number>();

  constructor(private readonly o: CommandExecutorOptions) {
    this.slots = o.workers;
  }

  async train(job: RunJob, stream: JobStream, signal: AbortSignal): Promise<JobResult> {
    const argv = expandArgv(this.o.command, job.params, { seed: job.seed, runId: String(job.runId), runDir: job.runDir });
    const script = hashCommandScript(argv, this.o.cwd);
    const code: CodeIdentity = { commandLine: formatCommandLine(argv), ...(script ? { codeHash: script.hash } : {}) };
    let group: number | undefined;
    const res = await runCommand({
      argv,
      cwd: this.o.cwd,
      runDir: job.runDir,
      runId: String(job.runId),
      seed: job.seed,
      params: job.params,
      signal,
      ...(job.device !== undefined ? { device: job.device } : {}),
      ...(this.o.graceMs !== undefined ? { graceMs: this.o.graceMs } : {}),
      ...(this.o.env !== undefined ? { env: this.o.env } : {}),
      onStart: (p: ProcessRecord) => {
        group = p.pgid;
        this.groups.add(p.pgid);
        stream.onProcess?.(p);
      },
      onEpoch: (e) => stream.onEpoch(e),
    }).finally(() => {
      if (group !== undefined) this.groups.delete(group);
    });
    if (res.status === 'aborted') throw new Error(res.error ?? 'the run was stopped');
    const tail = [res.stdoutTail && `--- stdout (last bytes) ---\n${res.stdoutTail}`, res.stderrTail && `--- stderr (last bytes) ---\n${res.stderrTail}`].filter(Boolean).join('\n');
    const out = { epochs: res.epochs, seconds: res.seconds, logPath: res.logPath, ...(tail ? { outputTail: tail } : {}), ...code };
    if (res.status === 'finished') return { ok: true, ...out };
    const code2 = res.exitSignal !== null ? 'trainer.killed' : res.exitCode === null ? 'trainer.protocol' : 'trainer.exit';
    return { ok: false, error: { code: res.exitCode === null && res.process === undefined ? 'trainer.start' : code2, message: res.error ?? 'failed' }, ...out };
  }

  /**
   * SIGKILL every group in flight, synchronously: for a converge about to exit at once (a
   * second Ctrl-C), which cannot wait out a grace period but must not leave trainers behind.
   */
  killAll(): void {
    for (const g of this.groups) signalGroup(g, 'SIGKILL');
  }

  async close(): Promise<void> {
    this.killAll();
  }
}
