import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CommandExecutor } from '../../src/trainer/command-executor';
import type { ProcessRecord } from '../../src/trainer/process-group';
import type { ReportedEpoch } from '../../src/trainer/types';
import { PYTHON, running } from './python';

const dir = mkdtempSync(join(tmpdir(), 'converge-command-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const TRAIN = `import json, os, sys
lr = float(sys.argv[sys.argv.index('--lr') + 1])
with open(os.environ['CONVERGE_METRICS'], 'a') as f:
    for e in range(1, 4):
        f.write(json.dumps({'epoch': e, 'loss': lr / e, 'device': float(os.environ.get('CONVERGE_DEVICE', '-1'))}) + '\\n')
        f.flush()
print('run', sys.argv[sys.argv.index('--run') + 1], 'in', os.environ['CONVERGE_RUN_DIR'])
if lr > 1:
    print('learning rate too high', file=sys.stderr)
    sys.exit(3)
`;
writeFileSync(join(dir, 'train.py'), TRAIN);

describe('the command executor', () => {
  it('expands the argv with the run values, streams epochs, records the process and the script hash', async () => {
    const ex = new CommandExecutor({ command: [PYTHON, 'train.py', '--lr', '{lr}', '--run', '{run_id}-{seed}'], cwd: dir, workers: 2 });
    const streamed: ReportedEpoch[] = [];
    const processes: ProcessRecord[] = [];
    const runDir = join(dir, 'db.runs', '5-1');
    const res = await ex.train({ runId: 5, seed: 9, params: { lr: 0.5 }, runDir, device: '1' }, { onEpoch: (e) => streamed.push(e), onProcess: (p) => processes.push(p) }, new AbortController().signal);
    assert.equal(res.ok, true);
    assert.deepEqual(res.epochs.map((e) => e.metrics.loss), [0.5, 0.25, 0.5 / 3]);
    assert.deepEqual(res.epochs.map((e) => e.metrics.device), [1, 1, 1]);
    assert.deepEqual(streamed, res.epochs);
    assert.equal(processes.length, 1);
    assert.equal(res.commandLine, `${PYTHON} train.py --lr 0.5 --run 5-9`);
    assert.match(res.codeHash ?? '', /^sha256:/);
    assert.equal(res.logPath, join(runDir, 'output.log'));
    assert.match(readFileSync(res.logPath!, 'utf8'), new RegExp(`run 5-9 in ${runDir}`));
    assert.match(res.outputTail ?? '', /run 5-9/);
  });

  it('a non-zero exit is ok: false with the status and the last lines of stderr', async () => {
    const ex = new CommandExecutor({ command: [PYTHON, 'train.py', '--lr', '{lr}', '--run', '{run_id}'], cwd: dir, workers: 1 });
    const res = await ex.train({ runId: 6, seed: 1, params: { lr: 2 }, runDir: join(dir, 'db.runs', '6-1') }, { onEpoch: () => {} }, new AbortController().signal);
    assert.equal(res.ok, false);
    if (res.ok) return;
    assert.equal(res.error.code, 'trainer.exit');
    assert.match(res.error.message, /exited with status 3; the last lines of its stderr:\nlearning rate too high/);
    assert.equal(res.epochs.length, 3);
  });

  it('an abort ends the run\'s process group, a child that ignores SIGTERM included, and the promise rejects', async () => {
    const pidFile = join(dir, 'child.pid');
    const code = `import os, signal, sys, time
pid = os.fork()
if pid == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with open(${JSON.stringify(pidFile)} + '.tmp', 'w') as f:
        f.write(str(os.getpid()))
    os.rename(${JSON.stringify(pidFile)} + '.tmp', ${JSON.stringify(pidFile)})
    time.sleep(600)
    sys.exit(0)
# The epoch (which aborts the run) only once the child has said who it is.
while not os.path.exists(${JSON.stringify(pidFile)}):
    time.sleep(0.01)
print('converge: {"epoch": 1, "loss": 1}', flush=True)
time.sleep(600)
`;
    const ex = new CommandExecutor({ command: [PYTHON, '-c', code], cwd: dir, workers: 1, graceMs: 300 });
    const controller = new AbortController();
    let leader = 0;
    const run = ex.train({ runId: 7, seed: 1, params: {}, runDir: join(dir, 'db.runs', '7-1') }, { onEpoch: () => controller.abort(), onProcess: (p) => (leader = p.pid) }, controller.signal);
    await assert.rejects(run);
    assert.ok(existsSync(pidFile));
    const child = Number(readFileSync(pidFile, 'utf8'));
    assert.equal(running(leader), false);
    assert.equal(running(child), false, 'the forked child that ignores SIGTERM was killed');
  });
});
