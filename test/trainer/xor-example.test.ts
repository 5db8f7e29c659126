import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { expandArgv, runCommand, type CommandRunResult } from '../../src/trainer';
import { ROOT, tempDir } from '../helpers';
import { PYTHON } from './python';

/** examples/xor/train.py as a sweep would run it: an argv with placeholders, no shell. */
const COMMAND = [PYTHON, join(ROOT, 'examples', 'xor', 'train.py'), '--hidden', '{hidden}', '--lr', '{lr}', '--epochs', '{epochs}', '--seed', '{seed}'];

async function train(params: { hidden: number; lr: number; epochs: number }, seed: number): Promise<CommandRunResult> {
  const dir = tempDir('i18-command-');
  const runDir = join(dir, 'run');
  const argv = expandArgv(COMMAND, params, { seed, runId: `xor-${seed}`, runDir });
  return runCommand({ argv, cwd: dir, runDir, runId: `xor-${seed}`, seed, params });
}

/** Converged: every pattern on the right side of 0.5 and a small loss at the last epoch. */
function converged(r: CommandRunResult): boolean {
  const last = r.epochs[r.epochs.length - 1]!.metrics;
  return last.accuracy === 1 && (last.loss ?? Infinity) < 0.05;
}

describe('examples/xor/train.py, the Python command trainer', () => {
  it('reports one {epoch, loss, accuracy} line per epoch through CONVERGE_METRICS', async () => {
    const r = await train({ hidden: 3, lr: 4, epochs: 50 }, 1);
    assert.equal(r.status, 'finished', r.error);
    assert.deepEqual(
      r.epochs.map((e) => e.epoch),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    for (const e of r.epochs) assert.deepEqual(Object.keys(e.metrics), ['loss', 'accuracy']);
    assert.equal(r.stdoutTail, '', 'nothing on stdout when CONVERGE_METRICS is set');
  });

  it('the same seed trains the same numbers', async () => {
    const [a, b] = await Promise.all([train({ hidden: 2, lr: 4, epochs: 30 }, 5), train({ hidden: 2, lr: 4, epochs: 30 }, 5)]);
    assert.deepEqual(a.epochs, b.epochs);
  });

  it('across 20 seeds at H=2 some runs converge and others stay stuck in a local minimum, the classic XOR behaviour', { timeout: 60_000 }, async () => {
    const params = { hidden: 2, lr: 8, epochs: 300 };
    const runs: CommandRunResult[] = [];
    // Two at a time, as a pool with two workers would.
    for (let seed = 1; seed <= 20; seed += 2) runs.push(...(await Promise.all([train(params, seed), train(params, seed + 1)])));
    assert.ok(runs.every((r) => r.status === 'finished' && r.epochs.length === 300));
    const ok = runs.filter(converged).length;
    assert.ok(ok > 0 && ok < 20, `${ok} of 20 converged`);
    // The failures are stuck, not slow: one pattern left near 0.5 keeps the loss at about 1/8.
    for (const r of runs.filter((x) => !converged(x))) assert.ok(r.epochs[299]!.metrics.loss! > 0.1, `a failed run's loss is ${r.epochs[299]!.metrics.loss}`);
  });
});
