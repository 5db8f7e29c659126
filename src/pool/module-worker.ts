import type { ModuleContext } from '../trainer/types';
import { importModule } from '../trainer/import-module';
import type { ModuleAbortMessage, ModuleEpochMessage, ModuleTask, ModuleTaskResult } from './protocol';

/**
 * The thread entry of module trainers (issue 18): one user module per run, imported once per
 * thread and kept (a module's top-level work, such as loading TF.js, is paid once per worker,
 * not once per run).
 */

type TrainFn = (params: Record<string, unknown>, ctx: ModuleContext) => unknown;

const loaded = new Map<string, Promise<TrainFn>>();

function trainOf(path: string): Promise<TrainFn> {
  let fn = loaded.get(path);
  if (fn === undefined) {
    fn = importModule(path).then((m) => {
      const train = m.train ?? (m.default as Record<string, unknown> | undefined)?.train;
      if (typeof train !== 'function') throw Object.assign(new Error(`${path} exports no train(params, ctx) function`), { code: 'trainer.noTrain' });
      return train as TrainFn;
    });
    // A failed import is not kept: the file may be fixed before the next run in this thread.
    fn.catch(() => loaded.delete(path));
    loaded.set(path, fn);
  }
  return fn;
}

function errorOf(e: unknown): { code: string; message: string } {
  if (e instanceof Error) {
    const code = typeof (e as { code?: unknown }).code === 'string' ? (e as unknown as { code: string }).code : 'trainer.threw';
    // The stack starts with the message; without a stack, the message alone.
    return { code, message: e.stack ?? e.message };
  }
  return { code: 'trainer.threw', message: `threw a non-Error value: ${String(e)}` };
}

export default async function trainModule(task: ModuleTask): Promise<ModuleTaskResult> {
  const t0 = performance.now();
  const epochs: ModuleEpochMessage[] = [];
  const controller = new AbortController();
  task.port.on('message', (msg: ModuleAbortMessage) => {
    if (msg.type === 'abort') controller.abort(new Error(msg.reason));
  });
  // Set by report() when the trainer breaks the protocol; the run fails with it whatever train() does next.
  let broken: string | undefined;
  let last = 0;
  const report = (epoch: number, metrics: Readonly<Record<string, number>>): void => {
    if (broken !== undefined) return;
    if (!Number.isInteger(epoch) || epoch < 1) broken = `report(${String(epoch)}, …): the epoch must be an integer counting from 1`;
    else if (epoch === last) broken = `epoch ${epoch} reported twice`;
    else if (epoch < last) broken = `epoch ${epoch} reported after epoch ${last}; epochs must increase`;
    if (broken !== undefined) return;
    last = epoch;
    const values: Record<string, number | null> = {};
    for (const name in metrics) {
      const v = metrics[name];
      values[name] = typeof v === 'number' && Number.isFinite(v) ? v : null;
    }
    const msg: ModuleEpochMessage = { type: 'epoch', epoch, metrics: values };
    epochs.push(msg);
    task.port.postMessage(msg);
  };
  const ctx: ModuleContext = {
    seed: task.seed,
    runId: task.runId,
    signal: controller.signal,
    runDir: task.runDir,
    report,
    ...(task.device !== undefined ? { device: task.device } : {}),
  };
  const seconds = () => (performance.now() - t0) / 1000;
  try {
    const train = await trainOf(task.module);
    await train({ ...task.params }, ctx);
    if (broken !== undefined) return { ok: false, error: { code: 'trainer.protocol', message: broken }, epochs, seconds: seconds() };
    return { ok: true, epochs, seconds: seconds() };
  } catch (e) {
    if (broken !== undefined) return { ok: false, error: { code: 'trainer.protocol', message: broken }, epochs, seconds: seconds() };
    return { ok: false, error: errorOf(e), epochs, seconds: seconds() };
  } finally {
    task.port.close();
  }
}
