import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { expandArgv, runCommand, type CommandRunResult } from '../../src/trainer';
import type { ParamValue } from '../../src/spec';
import { ROOT, tempDir } from '../helpers';
import { PYTHON, running } from '../trainer/python';
import { SWEEP_SEEDS, collectingContext, convergedRuns, importExample } from './xor-module';

const XOR_DIR = join(ROOT, 'examples', 'xor');

/** python.yaml's own command, with the interpreter resolved (python3 may be a slow launcher shim). */
const SWEEP_COMMAND: string[] = (() => {
  const spec = parse(readFileSync(join(XOR_DIR, 'python.yaml'), 'utf8')) as { trainer: { command: string[] } };
  const [program, ...rest] = spec.trainer.command;
  assert.equal(program, 'python3');
  return [PYTHON, ...rest];
})();

let runs = 0;

/** One run as converge runs a command trainer: argv expanded from the template, in the sweep file's folder. */
function trainPy(template: string[], params: Record<string, ParamValue>, seed: number, o: { signal?: AbortSignal; onEpoch?: () => void } = {}): Promise<CommandRunResult> {
  const runDir = join(tempDir('i18-xor-py-'), 'run');
  const runId = `xor-${++runs}`;
  const argv = expandArgv(template, params, { seed, runId, runDir });
  return runCommand({ argv, cwd: XOR_DIR, runDir, runId, seed, params, graceMs: 2000, ...(o.signal ? { signal: o.signal } : {}), ...(o.onEpoch ? { onEpoch: o.onEpoch } : {}) });
}

describe('examples/xor/train.py, the command trainer, run through runCommand', () => {
  it("python.yaml's command reports {loss, accuracy} at every epoch from 1 to epochs through CONVERGE_METRICS", async () => {
    const r = await trainPy(SWEEP_COMMAND, { hidden: 3, learning_rate: 2, epochs: 60 }, 1);
    assert.equal(r.status, 'finished', r.error);
    assert.deepEqual(
      r.epochs.map((e) => e.epoch),
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
    for (const e of r.epochs) assert.deepEqual(Object.keys(e.metrics), ['loss', 'accuracy']);
    assert.equal(r.badLines, 0);
    assert.equal(r.stdoutTail, '', 'nothing on stdout when CONVERGE_METRICS is set');
  });

  it('without arguments it takes its parameters from CONVERGE_PARAMS and its seed from CONVERGE_SEED, the same run as with arguments', async () => {
    const params = { hidden: 2, learning_rate: 2, epochs: 80, report_every: 10 };
    const [fromEnv, fromArgs] = await Promise.all([
      trainPy([PYTHON, 'train.py'], params, 4),
      trainPy([PYTHON, 'train.py', '--hidden', '2', '--lr', '2', '--epochs', '80', '--report-every', '10', '--seed', '4'], {}, 4),
    ]);
    assert.equal(fromEnv.status, 'finished', fromEnv.error);
    assert.deepEqual(
      fromEnv.epochs.map((e) => e.epoch),
      [10, 20, 30, 40, 50, 60, 70, 80],
    );
    assert.deepEqual(fromEnv.epochs, fromArgs.epochs);
  });

  it('the same seed trains the same numbers and another seed other numbers', async () => {
    const params = { hidden: 2, learning_rate: 2, epochs: 100 };
    const [a, b, c] = await Promise.all([trainPy(SWEEP_COMMAND, params, 5), trainPy(SWEEP_COMMAND, params, 5), trainPy(SWEEP_COMMAND, params, 6)]);
    assert.deepEqual(a.epochs, b.epochs);
    assert.notDeepEqual(a.epochs, c.epochs);
  });

  it('an abort while it trains ends the process: the run is aborted, its epochs so far kept in order, no process left', async () => {
    const controller = new AbortController();
    // Stopped once its first epoch has been read, long before its ten million epochs.
    const r = await trainPy(SWEEP_COMMAND, { hidden: 2, learning_rate: 2, epochs: 10_000_000 }, 1, { signal: controller.signal, onEpoch: () => controller.abort(new Error('stopped by the test')) });
    assert.equal(r.status, 'aborted');
    assert.match(r.error ?? '', /stopped by the test/);
    assert.ok(r.epochs.length > 0 && r.epochs.length < 10_000_000);
    r.epochs.forEach((e, i) => assert.equal(e.epoch, i + 1));
    assert.ok(r.process !== undefined);
    assert.equal(running(r.process.pid), false);
  });

  it("over the sweep's grid and 20 seeds, its convergence counts are within 4 of 20 of the module's in every cell, though their random streams differ", { timeout: 120_000 }, async () => {
    const xor = await importExample('xor', 'xor.mjs');
    for (const learning_rate of [0.5, 2]) {
      for (const hidden of [2, 3, 4]) {
        const params = { hidden, learning_rate, epochs: 1000, report_every: 1000 };
        const pyLosses: number[] = [];
        // Two at a time, as a sweep with two workers would.
        for (let i = 0; i < SWEEP_SEEDS.length; i += 2) {
          const pair = await Promise.all(SWEEP_SEEDS.slice(i, i + 2).map((s) => trainPy([PYTHON, 'train.py'], params, s)));
          for (const r of pair) {
            assert.equal(r.status, 'finished', r.error);
            pyLosses.push(r.epochs.at(-1)!.metrics.loss!);
          }
        }
        const jsLosses: number[] = [];
        for (const s of SWEEP_SEEDS) {
          const { ctx, epochs } = collectingContext(s);
          await xor.train(params, ctx);
          jsLosses.push(epochs.at(-1)!.metrics.loss!);
        }
        const py = convergedRuns(pyLosses);
        const js = convergedRuns(jsLosses);
        assert.ok(Math.abs(py - js) <= 4, `H=${hidden}, learning rate ${learning_rate}: ${py} of 20 in Python, ${js} of 20 in the module`);
        if (hidden === 2) assert.ok(py < 20 && js < 20, 'both have runs stuck at H=2');
      }
    }
  });
});
