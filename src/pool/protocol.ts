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
