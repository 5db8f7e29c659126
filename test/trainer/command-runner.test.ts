import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readProcStat } from '../../src/trainer/process-group';
import { runCommand, type CommandRunOptions, type EpochRecord, type ProcessRecord, type ProtocolWarning } from '../../src/trainer';
import { ROOT, tempDir } from '../helpers';
import { PYTHON, python, running } from './python';

function options(argv: string[], extra: Partial<CommandRunOptions> = {}): CommandRunOptions {
  const dir = tempDir('i18-command-');
  return { argv, cwd: dir, runDir: join(dir, 'run'), runId: 'run-1', seed: 11, params: {}, graceMs: 300, ...extra };
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('running a command trainer', () => {
  it('a trainer reporting through CONVERGE_METRICS is followed while it runs, with the run\'s environment and typed params file', async () => {
    // Epoch 2 is written only once the test has received epoch 1: a runner that read the file at the end would hang here.
    const code = `
import json, os, sys, time
run_dir = os.environ["CONVERGE_RUN_DIR"]
with open(os.path.join(run_dir, "seen.json"), "w") as f:
    json.dump({"argv": sys.argv[1:], "cwd": os.getcwd(), "pgrp": os.getpgrp(), "pid": os.getpid(),
               "params": json.load(open(os.environ["CONVERGE_PARAMS"])),
               "env": {k: os.environ.get(k) for k in ["CONVERGE_RUN_ID", "CONVERGE_SEED", "CONVERGE_DEVICE", "CUDA_VISIBLE_DEVICES", "FROM_PARENT"]}}, f)
m = open(os.environ["CONVERGE_METRICS"], "a")
m.write(json.dumps({"epoch": 1, "loss": 0.5, "accuracy": 0.25}) + "\\n"); m.flush()
deadline = time.time() + 10
while not os.path.exists(os.path.join(run_dir, "ack")):
    if time.time() > deadline: sys.exit(5)
    time.sleep(0.01)
m.write(json.dumps({"epoch": 2, "loss": 0.25, "accuracy": 1.0}) + "\\n")
`;
    const o = options(python(code, '--hidden', '3'), { params: { hidden: 3, learning_rate: 0.001, amsgrad: true, optimizer: 'adam' }, device: '1', env: { ...process.env, FROM_PARENT: 'yes' } });
    const streamed: EpochRecord[] = [];
    let started: ProcessRecord | undefined;
    const result = await runCommand({
      ...o,
      onStart: (p) => (started = p),
      onEpoch: (r) => {
        streamed.push(r);
        if (r.epoch === 1) writeFileSync(join(o.runDir, 'ack'), '');
      },
    });
    assert.equal(result.status, 'finished', result.error);
    assert.equal(result.exitCode, 0);
    const epochs = [
      { epoch: 1, metrics: { loss: 0.5, accuracy: 0.25 } },
      { epoch: 2, metrics: { loss: 0.25, accuracy: 1 } },
    ];
    assert.deepEqual(streamed, epochs);
    assert.deepEqual(result.epochs, epochs);
    const seen = JSON.parse(readFileSync(join(o.runDir, 'seen.json'), 'utf8'));
    assert.deepEqual(seen.argv, ['--hidden', '3']);
    assert.equal(seen.cwd, o.cwd);
    assert.deepEqual(seen.params, { hidden: 3, learning_rate: 0.001, amsgrad: true, optimizer: 'adam' });
    assert.deepEqual(seen.env, { CONVERGE_RUN_ID: 'run-1', CONVERGE_SEED: '11', CONVERGE_DEVICE: '1', CUDA_VISIBLE_DEVICES: '1', FROM_PARENT: 'yes' });
    // Its own process group, and the record a later converge needs to find it again.
    assert.equal(seen.pgrp, seen.pid);
    assert.equal(started?.pid, seen.pid);
    assert.equal(started?.pgid, seen.pid);
    assert.equal(result.process?.pid, seen.pid);
    assert.ok(Number.isInteger(started?.startTicks) && started!.startTicks! > 0);
  });

  it('a trainer reporting on stdout after the converge: prefix is recorded, its NaN as null, its other prints kept in the log', async () => {
    const code = `
import json
print("loading data")
print("converge: " + json.dumps({"epoch": 1, "loss": 0.5}))
print("converge: " + json.dumps({"epoch": 2, "loss": float("nan")}))
print("done")
`;
    const result = await runCommand(options(python(code)));
    assert.equal(result.status, 'finished', result.error);
    assert.deepEqual(result.epochs, [
      { epoch: 1, metrics: { loss: 0.5 } },
      { epoch: 2, metrics: { loss: null } },
    ]);
    assert.equal(result.stdoutTail, 'loading data\nconverge: {"epoch": 1, "loss": 0.5}\nconverge: {"epoch": 2, "loss": NaN}\ndone\n');
    assert.equal(readFileSync(result.logPath, 'utf8'), result.stdoutTail);
  });

  it('a command replaying a recorded Keras verbose=2 log is parsed into exactly its epochs and values', async () => {
    const fixture = join(ROOT, 'test', 'fixtures', 'keras-verbose2.log');
    const expected = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'keras-verbose2.expected.json'), 'utf8')) as EpochRecord[];
    const replay = 'import sys, time\nfor line in open(sys.argv[1]):\n    sys.stdout.write(line)\n    if line.startswith("Epoch"): time.sleep(0.002)\n';
    const result = await runCommand(options(python(replay, fixture)));
    assert.equal(result.status, 'finished', result.error);
    assert.deepEqual(result.epochs, expected);
  });

  it('an abort ends a trainer that ignores SIGTERM and its forked child: after the grace period the whole group is gone', { timeout: 30_000 }, async () => {
    const code = `
import os, signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = os.fork()
if child == 0:
    time.sleep(60)
    os._exit(0)
path = os.path.join(os.environ["CONVERGE_RUN_DIR"], "child.pid")
with open(path + ".tmp", "w") as f:
    f.write(str(child))
os.rename(path + ".tmp", path)
time.sleep(60)
`;
    const controller = new AbortController();
    const o = options(python(code), { signal: controller.signal, graceMs: 400 });
    let leader = 0;
    const running_ = runCommand({ ...o, onStart: (p) => (leader = p.pid) });
    const childFile = join(o.runDir, 'child.pid');
    await until(() => existsSync(childFile), 'the trainer to fork');
    const child = Number(readFileSync(childFile, 'utf8'));
    assert.ok(running(leader) && running(child), 'both processes run before the abort');
    const abortedAt = Date.now();
    controller.abort('interrupted (Ctrl-C)');
    const result = await running_;
    const took = Date.now() - abortedAt;
    assert.equal(result.status, 'aborted');
    assert.equal(result.error, 'interrupted (Ctrl-C)');
    assert.equal(result.exitSignal, 'SIGKILL');
    assert.ok(took >= 400, `SIGKILL came only after the grace period (${took} ms)`);
    assert.equal(running(leader), false, 'the trainer is gone');
    assert.equal(running(child), false, 'its forked child is gone');
    assert.match(readFileSync(result.logPath, 'utf8'), /\[converge: interrupted \(Ctrl-C\): SIGTERM to the run's process group, SIGKILL after 400 ms\]/);
  });

  it('a timeout through AbortSignal.timeout ends a trainer that honours SIGTERM without waiting for the grace period', async () => {
    const o = options(python('import time\ntime.sleep(60)'), { signal: AbortSignal.timeout(300), graceMs: 10_000 });
    const result = await runCommand(o);
    assert.equal(result.status, 'aborted');
    assert.equal(result.error, 'timed out');
    assert.equal(result.exitSignal, 'SIGTERM');
    assert.ok(result.seconds < 5, `ended by SIGTERM, not SIGKILL after 10 s (${result.seconds} s)`);
  });

  it('a trainer that exits non-zero fails with its exit status and the last lines of its stderr', async () => {
    const code = 'import sys\nfor i in range(1, 31): print("stderr line %d" % i, file=sys.stderr)\nprint("some stdout")\nsys.exit(3)';
    const result = await runCommand(options(python(code), { errorLines: 5 }));
    assert.equal(result.status, 'failed');
    assert.equal(result.exitCode, 3);
    assert.equal(result.error, `${PYTHON} -c '${code}' exited with status 3; the last lines of its stderr:\nstderr line 26\nstderr line 27\nstderr line 28\nstderr line 29\nstderr line 30`);
    assert.match(result.stderrTail, /stderr line 1\n[\s\S]*stderr line 30\n$/);
    assert.equal(result.stdoutTail, 'some stdout\n');
  });

  it('a trainer killed by a signal fails with the signal\'s name', async () => {
    const result = await runCommand(options(python('import os, signal\nos.kill(os.getpid(), signal.SIGKILL)')));
    assert.equal(result.status, 'failed');
    assert.equal(result.exitSignal, 'SIGKILL');
    assert.match(result.error ?? '', /killed by SIGKILL \(its stderr was empty\)$/);
  });

  it('a program that is not on PATH fails with that reason and starts nothing', async () => {
    let started = false;
    const result = await runCommand({ ...options(['no-such-trainer-i18', '--lr', '1']), onStart: () => (started = true) });
    assert.equal(result.status, 'failed');
    assert.equal(result.error, 'could not start no-such-trainer-i18 --lr 1: "no-such-trainer-i18" is not on PATH or does not exist');
    assert.equal(started, false);
    assert.equal(result.process, undefined);
  });

  it('a trainer writing 60 MB to stdout has its log capped, completes, keeps memory bounded, and its last metrics line still counts', { timeout: 60_000 }, async () => {
    const code = `
import sys
chunk = (b"x" * 1023 + b"\\n") * 1024
for _ in range(60):
    sys.stdout.buffer.write(chunk)
sys.stdout.buffer.write(b'converge: {"epoch": 1, "loss": 0.5}\\n')
`;
    global.gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
    const result = await runCommand(options(python(code), { logCapBytes: 4 * 1024 * 1024 }));
    clearInterval(sampler);
    assert.equal(result.status, 'finished', result.error);
    assert.equal(result.outputBytes, 60 * 1024 * 1024 + 36);
    assert.equal(result.logCut, true);
    const size = statSync(result.logPath).size;
    assert.ok(size >= 4 * 1024 * 1024 && size < 4 * 1024 * 1024 + 1024, `log size ${size}`);
    const tailOfLog = readFileSync(result.logPath, 'utf8').slice(-400);
    assert.match(tailOfLog, /\[converge: the log is cut here, at 4194304 bytes; the rest of the output is counted, not kept\]/);
    assert.match(tailOfLog, /\[converge: 58720292 bytes of output after the cut were not kept \(62914596 in all\)\]\n$/);
    assert.deepEqual(result.epochs, [{ epoch: 1, metrics: { loss: 0.5 } }]);
    assert.ok(result.stdoutTail.length <= 4096 && result.stdoutTail.endsWith('converge: {"epoch": 1, "loss": 0.5}\n'));
    // Everything buffered would be 60 MB of bytes (twice that as strings): the growth must stay well below.
    const growthMb = (peak - before) / 2 ** 20;
    assert.ok(growthMb < 40, `memory grew by ${growthMb.toFixed(1)} MB while 60 MB went through`);
  });

  it('a bad metrics line is warned about once, with its line number, and the run continues', async () => {
    const code = `
import os
with open(os.environ["CONVERGE_METRICS"], "a") as m:
    m.write('{"epoch": 1, "loss": 0.5}\\nloss is 0.4\\n{"epoch": 2, "loss": 0.4}\\nstill not json\\n{"epoch": 3, "loss": 0.3}\\n')
`;
    const warnings: ProtocolWarning[] = [];
    const result = await runCommand({ ...options(python(code)), onWarning: (w) => warnings.push(w) });
    assert.equal(result.status, 'finished', result.error);
    assert.deepEqual(
      result.epochs.map((e) => e.epoch),
      [1, 2, 3],
    );
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.line, 2);
    assert.match(warnings[0]!.message, /^CONVERGE_METRICS line 2 is not JSON \("loss is 0.4"\)/);
    assert.equal(result.badLines, 2);
  });

  it('an epoch reported out of order fails the run with that reason and stops the trainer', async () => {
    const code = `
import os, time
with open(os.environ["CONVERGE_METRICS"], "a") as m:
    m.write('{"epoch": 2, "loss": 0.5}\\n{"epoch": 1, "loss": 0.4}\\n')
time.sleep(60)
`;
    let pid = 0;
    const result = await runCommand({ ...options(python(code)), onStart: (p) => (pid = p.pid) });
    assert.equal(result.status, 'failed');
    assert.equal(result.error, 'CONVERGE_METRICS line 2: epoch 1 reported after epoch 2; epochs must increase');
    assert.deepEqual(
      result.epochs.map((e) => e.epoch),
      [2],
    );
    assert.ok(result.seconds < 10, 'stopped, not left to sleep');
    assert.equal(running(pid), false);
  });

  it('a trainer that truncates its metrics file fails with advice to append', async () => {
    const code = `
import os, time
path = os.environ["CONVERGE_METRICS"]
open(path, "a").write('{"epoch": 1, "loss": 0.5}\\n')
time.sleep(0.5)
open(path, "w").write('{"epoch": 2}\\n')
time.sleep(0.5)
`;
    const result = await runCommand({ ...options(python(code)), pollMs: 20 });
    assert.equal(result.status, 'failed');
    assert.equal(result.error, "CONVERGE_METRICS was truncated while the run wrote it; open it for appending (mode 'a'), once");
  });

  it('a trainer that exits 0 but leaves a background process behind finishes, and the leftover is ended', async () => {
    const code = `
import os, subprocess, sys, time
p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
open(os.path.join(os.environ["CONVERGE_RUN_DIR"], "left.pid"), "w").write(str(p.pid))
`;
    const o = options(python(code));
    const result = await runCommand(o);
    assert.equal(result.status, 'finished', result.error);
    const left = Number(readFileSync(join(o.runDir, 'left.pid'), 'utf8'));
    assert.equal(running(left), false);
    assert.match(readFileSync(result.logPath, 'utf8'), /the command exited with status 0 and left processes in its group/);
  });

  it('the process record carries the start time from /proc, which is what tells a reused pid apart', async () => {
    let record: ProcessRecord | undefined;
    let statAtStart: ReturnType<typeof readProcStat>;
    await runCommand({
      ...options(python('import time\ntime.sleep(0.2)')),
      onStart: (p) => {
        record = p;
        statAtStart = readProcStat(p.pid);
      },
    });
    assert.equal(record?.startTicks, statAtStart!.startTicks);
    assert.equal(statAtStart!.pgid, record?.pid);
  });
});
