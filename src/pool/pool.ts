import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { EpochMetrics, TrainRequest } from '../train/contract';
import type { RunMessage, TaskResult, TrainTask } from './protocol';

export interface PoolOptions {
  /** Worker threads. @default the number of cores */
  workers?: number;
  /**
   * Heap limit of one worker in MB: a run that exceeds it kills only its thread
   * (ERR_WORKER_OUT_OF_MEMORY), which Piscina replaces. @default 2048
   */
  maxHeapMb?: number;
}

export function defaultWorkers(): number {
  return availableParallelism();
}

/** What a run reports while it trains (pool.train). */
export interface RunStream {
  onEpoch(m: EpochMetrics): void;
  onBackend?(backend: string): void;
}

/** A Piscina pool of training threads, one task per run. */
export class TrainPool {
  private readonly piscina: Piscina;
  readonly workers: number;

  constructor(options: PoolOptions = {}) {
    this.workers = options.workers ?? defaultWorkers();
    this.piscina = new Piscina({
      filename: join(__dirname, 'worker.js'),
      minThreads: this.workers,
      maxThreads: this.workers,
      // One run at a time per thread: runs are CPU-bound, interleaving would only add latency.
      concurrentTasksPerWorker: 1,
      idleTimeout: 60_000,
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 2048 },
    });
    // A run aborted (Ctrl-C, SIGTERM, a closed pipe, a lost claim) whose worker finished in the
    // same instant still posts its result; Piscina no longer knows the task and emits 'error'
    // ("Unexpected message from Worker", piscina dist/index.js onMessage), which with no listener
    // crashes the process. That result is dropped on purpose: the run was released or taken over.
    this.piscina.on('error', (e: unknown) => {
      this.strayErrors.push(e);
    });
  }

  /** Pool-level errors Piscina reported outside any task (see the constructor). */
  readonly strayErrors: unknown[] = [];

  /**
   * Train one run. Its backend and then its epoch metrics arrive through `stream` while it
   * trains; the promise resolves with the worker's result or rejects when the thread died or
   * `signal` aborted it (Piscina then terminates that thread and starts a fresh one).
   */
  async train(request: TrainRequest, stream: RunStream, signal?: AbortSignal): Promise<TaskResult> {
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (msg: RunMessage) => {
      if (msg.type === 'epoch') stream.onEpoch(msg.metrics);
      else stream.onBackend?.(msg.backend);
    });
    const task: TrainTask = { request, port: port2 };
    try {
      return (await this.piscina.run(task, { transferList: [port2], ...(signal ? { signal } : {}) })) as TaskResult;
    } finally {
      port1.close();
    }
  }

  async close(options: { force?: boolean } = {}): Promise<void> {
    await this.piscina.close({ force: options.force ?? false });
  }

  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}
