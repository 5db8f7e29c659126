import type { Engine, EpochMetrics, EngineName } from '../train/contract';
import type { RunMessage, TaskResult, TrainTask } from './protocol';

/** Engines load lazily: a worker that only trains `fused` never loads TF.js. */
function engineFor(name: EngineName): Engine {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  if (name === 'tfjs') return (require('../train/tfjs') as typeof import('../train/tfjs')).tfjsEngine;
  return (require('../train/fused') as typeof import('../train/fused')).fusedEngine;
}

/**
 * Test-only fault injection (CONVERGE_FAULT=kind:seed): lets the reliability tests make a real
 * worker throw, exit, run out of memory or hang for one run, or kill its whole process
 * (kill-process: SIGKILL from the worker thread takes the main thread with it, as a run that
 * crashes the process would). Ignored unless the variable is set.
 * Divergence needs no injection: a learning rate like 1e300 really overflows the loss to Inf/NaN
 * (test/reliability/diverged.test.ts).
 */
function injectFault(task: TrainTask): void {
  const spec = process.env.CONVERGE_FAULT;
  if (!spec) return;
  const [kind, seed] = spec.split(':');
  if (kind === 'slow') {
    // slow:MS holds every run MS milliseconds before it trains (numbers unchanged), so a test
    // can land a signal mid-sweep however fast the kernel is.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(seed ?? 0));
    return;
  }
  if (seed !== undefined && Number(seed) !== task.request.seed) return;
  if (kind === 'throw') throw new Error('injected failure (CONVERGE_FAULT=throw)');
  if (kind === 'exit') process.exit(7);
  if (kind === 'kill-process') process.kill(process.pid, 'SIGKILL');
  if (kind === 'oom') {
    const hog: number[][] = [];
    for (;;) hog.push(new Array<number>(1e6).fill(1));
  }
  if (kind === 'hang') {
    const end = Date.now() + 3_600_000;
    while (Date.now() < end) {
      /* busy: only a timeout or an abort ends this run */
    }
  }
}

export default async function train(task: TrainTask): Promise<TaskResult> {
  const epochs: EpochMetrics[] = [];
  let backend: string | undefined;
  const post = (msg: RunMessage) => task.port.postMessage(msg);
  try {
    injectFault(task);
    const engine = engineFor(task.request.engine);
    const summary = await engine.train(task.request, {
      onBackend: (b) => {
        backend = b;
        post({ type: 'backend', backend: b });
      },
      onEpoch: (m) => {
        epochs.push(m);
        post({ type: 'epoch', metrics: m });
      },
    });
    return { ok: true, summary, epochs };
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    return {
      ok: false,
      error: { code: typeof err.code === 'string' ? err.code : 'train.failed', message: String(err.message ?? e) },
      epochs,
      ...(backend !== undefined ? { backend } : {}),
    };
  } finally {
    task.port.close();
  }
}
