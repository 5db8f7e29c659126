import type { MessagePort } from 'node:worker_threads';
import type { EpochMetrics, TrainRequest, TrainSummary } from '../train/contract';

/**
 * The thread boundary, declared once. Only plain data crosses it: an Error subclass sent through
 * postMessage arrives as a plain Error and loses its `code` (checked on Node 20), so failures
 * travel as `{ ok: false, error: { code, message } }`.
 */
export interface TrainTask {
  request: TrainRequest;
  /** Per-epoch metrics stream back on this port while the run trains. */
  port: MessagePort;
}

export interface EpochMessage {
  type: 'epoch';
  metrics: EpochMetrics;
}

/** Sent once, before the first epoch: the backend the run trains on (a run whose thread dies later still records it). */
export interface BackendMessage {
  type: 'backend';
  backend: string;
}

export type RunMessage = EpochMessage | BackendMessage;

export type TaskResult =
  | { ok: true; summary: TrainSummary; epochs: EpochMetrics[] }
  | { ok: false; error: { code: string; message: string }; epochs: EpochMetrics[]; backend?: string };

/**
 * A module trainer's run (issue 18): the worker imports `module` once per thread and calls its
 * `train(params, ctx)`. Epochs stream back on `port` as `[epoch, metrics]` pairs, the smallest
 * message that structured cloning handles quickly (ctx.report must cost microseconds).
 */
export interface ModuleTask {
  /** Absolute path of the module file. */
  module: string;
  runId: number;
  seed: number;
  params: Record<string, number | string | boolean>;
  runDir: string;
  device?: string;
  port: MessagePort;
}

/** Worker → main: one reported epoch (non-finite values already null). */
export interface ModuleEpochMessage {
  type: 'epoch';
  epoch: number;
  metrics: Record<string, number | null>;
}

/** Main → worker: the run was stopped (Ctrl-C, SIGTERM, --timeout, a lost claim): ctx.signal aborts. */
export interface ModuleAbortMessage {
  type: 'abort';
  reason: string;
}

export type ModuleTaskResult =
  | { ok: true; epochs: ModuleEpochMessage[]; seconds: number }
  | { ok: false; error: { code: string; message: string }; epochs: ModuleEpochMessage[]; seconds: number };
