import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ModuleExecutor } from '../../src/trainer/module-executor';
import type { ReportedEpoch, RunJob } from '../../src/trainer/types';

const dir = mkdtempSync(join(tmpdir(), 'converge-module-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function moduleFile(name: string, source: string): string {
  const path = join(dir, name);
  writeFileSync(path, source);
  return path;
}

function job(runId: number, params: RunJob['params'] = {}, device?: string): RunJob {
  return { runId, seed: 100 + runId, params, runDir: join(dir, 'runs', `${runId}-1`), ...(device !== undefined ? { device } : {}) };
}

describe('the module executor', () => {
  it('imports the module once per worker and streams every reported epoch, non-finite values as null', async () => {
    const path = moduleFile(
      'counting.mjs',
      `globalThis.loads = (globalThis.loads ?? 0) + 1;
       export async function train(params, ctx) {
         for (let e = 1; e <= params.epochs; e++) ctx.report(e, { loss: 1 / e, seed: ctx.seed, loads: globalThis.loads, odd: e === 2 ? NaN : e === 3 ? Infinity : e });
       }`,
    );
    const ex = new ModuleExecutor({ module: path, workers: 1 });
    try {
      for (const runId of [1, 2]) {
        const streamed: ReportedEpoch[] = [];
        const res = await ex.train(job(runId, { epochs: 3 }), { onEpoch: (e) => streamed.push(e) }, new AbortController().signal);
        assert.equal(res.ok, true);
        assert.deepEqual(res.epochs.map((e) => e.epoch), [1, 2, 3]);
        assert.deepEqual(res.epochs.map((e) => e.metrics.odd), [1, null, null]);
        assert.equal(res.epochs[0]!.metrics.seed, 100 + runId);
        assert.equal(res.epochs[2]!.metrics.loads, 1, 'the module was imported once in this worker');
        assert.equal(res.commandLine, path);
        assert.match(res.codeHash ?? '', /^sha256:[0-9a-f]{64}$/);
        // Streamed on the port before the result (the port closes with it): all or a prefix arrived.
        assert.deepEqual(streamed, res.epochs.slice(0, streamed.length));
      }
    } finally {
      await ex.close();
    }
  });

  it('a trainer that throws gives ok: false with its message and stack, and the epochs it reported', async () => {
    const path = moduleFile('throws.mjs', `export async function train(params, ctx) { ctx.report(1, { loss: 0.5 }); throw new Error('out of cheese'); }`);
    const ex = new ModuleExecutor({ module: path, workers: 1 });
    try {
      const res = await ex.train(job(1), { onEpoch: () => {} }, new AbortController().signal);
      assert.equal(res.ok, false);
      if (res.ok) return;
      assert.match(res.error.message, /^Error: out of cheese\n\s+at train \(file:/);
      assert.equal(res.epochs.length, 1);
    } finally {
      await ex.close();
    }
  });

  it('an epoch reported twice fails the run with that reason', async () => {
    const path = moduleFile('twice.mjs', `export async function train(params, ctx) { ctx.report(1, { loss: 0.5 }); ctx.report(1, { loss: 0.4 }); }`);
    const ex = new ModuleExecutor({ module: path, workers: 1 });
    try {
      const res = await ex.train(job(1), { onEpoch: () => {} }, new AbortController().signal);
      assert.equal(res.ok, false);
      if (!res.ok) assert.equal(res.error.message, 'epoch 1 reported twice');
    } finally {
      await ex.close();
    }
  });

  it('a module that exports no train function fails its runs with a message naming the file', async () => {
    const path = moduleFile('empty.mjs', `export const params = {};`);
    const ex = new ModuleExecutor({ module: path, workers: 1 });
    try {
      const res = await ex.train(job(1), { onEpoch: () => {} }, new AbortController().signal);
      assert.equal(res.ok, false);
      if (!res.ok) assert.match(res.error.message, /empty\.mjs exports no train\(params, ctx\) function/);
    } finally {
      await ex.close();
    }
  });

  it('an abort stops a trainer that never looks at its signal (its thread is terminated) and the promise rejects', async () => {
    const path = moduleFile('spins.mjs', `export async function train(params, ctx) { ctx.report(1, { loss: 1 }); for (;;) {} }`);
    const ex = new ModuleExecutor({ module: path, workers: 1, graceMs: 100 });
    try {
      const controller = new AbortController();
      const run = ex.train(job(1), { onEpoch: () => controller.abort() }, controller.signal);
      await assert.rejects(run);
    } finally {
      await ex.close();
    }
  });

  it('an abort reaches ctx.signal, and a trainer that stops on it still counts as stopped, not finished', async () => {
    const path = moduleFile(
      'polite.mjs',
      `export async function train(params, ctx) {
         ctx.report(1, { loss: 1, device: Number(ctx.device) });
         await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
       }`,
    );
    const ex = new ModuleExecutor({ module: path, workers: 1, graceMs: 60_000 });
    try {
      const controller = new AbortController();
      let device: number | null | undefined;
      const run = ex.train(job(1, {}, '7'), { onEpoch: (e) => { device = e.metrics.device; controller.abort(); } }, controller.signal);
      await assert.rejects(run, /stopped/);
      assert.equal(device, 7);
    } finally {
      await ex.close();
    }
  });
});
