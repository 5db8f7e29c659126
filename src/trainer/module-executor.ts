import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { ModuleEpochMessage, ModuleTask, ModuleTaskResult } from '../pool/protocol';
import { hashFile } from './code-hash';
import type { CodeIdentity, Executor, JobResult, JobStream, RunJob } from './types';

export interface ModuleExecutorOptions {
  /** Absolute path of the module. */
  module: string;
  /** Worker threads (runs at once). */
  workers: number;
  /** @default 2048 */
  maxHeapMb?: number;
  /**
   * After an abort, how long train() has to notice ctx.signal and return before its thread is
   * terminated. @default 1000
   */
  graceMs?: number;
}

/** Runs a module trainer's jobs in a Piscina pool of its own: one thread per run in flight. */
export class ModuleExecutor implements Executor {
  readonly slots: number;
  private readonly piscina: Piscina;
  private readonly graceMs: number;
  /** Pool-level errors Piscina reported outside any task (a result that arrived after its abort). */
  readonly strayErrors: unknown[] = [];

  constructor(private readonly o: ModuleExecutorOptions) {
    this.slots = o.workers;
    this.graceMs = o.graceMs ?? 1000;
    this.piscina = new Piscina({
      filename: join(__dirname, '../pool/module-worker.js'),
      minThreads: o.workers,
      maxThreads: o.workers,
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
      resourceLimits: { maxOldGenerationSizeMb: o.maxHeapMb ?? 2048 },
    });
    // Same race as TrainPool's: a run aborted as it finished still posts its result.
    this.piscina.on('error', (e: unknown) => {
      this.strayErrors.push(e);
    });
  }

  /** The code of every run: the module file as it is now (each thread imports it once). */
  private code(): CodeIdentity {
    let codeHash: string | undefined;
    try {
      codeHash = hashFile(this.o.module).hash;
    } catch {
      codeHash = undefined; // unreadable now: the import reports why
    }
    return { commandLine: this.o.module, ...(codeHash !== undefined ? { codeHash } : {}) };
  }

  async train(job: RunJob, stream: JobStream, signal: AbortSignal): Promise<JobResult> {
    const code = this.code();
    if (signal.aborted) throw new Error('stopped before it started');
    // The trainer may keep its own files there (checkpoints, plots).
    mkdirSync(job.runDir, { recursive: true });
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (msg: ModuleEpochMessage) => stream.onEpoch({ epoch: msg.epoch, metrics: msg.metrics }));
    // The thread is terminated only if train() ignores ctx.signal for graceMs.
    const terminate = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      port1.postMessage({ type: 'abort', reason: signal.reason instanceof Error ? signal.reason.message : 'stopped' });
      timer = setTimeout(() => terminate.abort(), this.graceMs);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    const task: ModuleTask = {
      module: this.o.module,
      runId: job.runId,
      seed: job.seed,
      params: { ...job.params },
      runDir: job.runDir,
      ...(job.device !== undefined ? { device: job.device } : {}),
      port: port2,
    };
    let res: ModuleTaskResult;
    try {
      res = (await this.piscina.run(task, { transferList: [port2], signal: terminate.signal })) as ModuleTaskResult;
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (timer) clearTimeout(timer);
      port1.close();
    }
    // A trainer that honoured ctx.signal returned or threw: the run was still stopped, not finished.
    if (signal.aborted) throw new Error('the run was stopped');
    const epochs = res.epochs.map((m) => ({ epoch: m.epoch, metrics: m.metrics }));
    if (res.ok) return { ok: true, epochs, seconds: res.seconds, ...code };
    return { ok: false, error: res.error, epochs, seconds: res.seconds, ...code };
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }
}
