/**
 * Command trainers end to end: a real `converge run` of a `trainer: {command: …}` sweep, real
 * python3 trainers written here, real signals, the database read back. Every process a trainer
 * starts writes its pid into pids/, so the tests can check that none outlives converge.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import Database from 'better-sqlite3';
import { sandbox, waitFor, type Finished } from '../reliability/harness';
import { PYTHON, running } from '../trainer/python';

const USER_CLI = resolve(__dirname, '../../src/cli/main.js');

/**
 * MODE (a file beside the trainer, so a resume can change it): fast (3 epochs), hang (forks a
 * child; both ignore SIGTERM and sleep), fail (exit 1 with a message on stderr), span (0.3 s,
 * then records device and time span).
 */
const TRAINER = `import json, os, signal, sys, time
here = os.path.dirname(os.path.abspath(__file__))
mode = open(os.path.join(here, 'MODE')).read().strip()
seed = int(sys.argv[1])
def note_pid():
    open(os.path.join(here, 'pids', str(os.getpid())), 'w').write(os.environ['CONVERGE_RUN_ID'])
note_pid()
with open(os.path.join(here, 'starts.log'), 'a') as f:
    f.write(os.environ['CONVERGE_RUN_ID'] + '\\n')
metrics = open(os.environ['CONVERGE_METRICS'], 'a')
def report(epoch, value):
    metrics.write(json.dumps({'epoch': epoch, 'pop_mae': value, 'loss': value * 2}) + '\\n')
    metrics.flush()
if mode == 'second-ok':
    # Every run fails but the second one started.
    mode = 'fast' if len(open(os.path.join(here, 'starts.log')).read().split()) == 2 else 'fail'
if mode == 'fail':
    print('loading data...')
    print('boom: no such column "lr"', file=sys.stderr)
    sys.exit(1)
if mode == 'hang':
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork() == 0:
        note_pid()
        time.sleep(600)
        os._exit(0)
    report(1, 0.5)
    time.sleep(600)
start = time.time()
if mode == 'span':
    time.sleep(0.3)
for e in range(1, 4):
    report(e, 0.1 / e if seed % 2 else 0.5)
with open(os.path.join(here, 'spans.log'), 'a') as f:
    f.write('%s %s %.6f %.6f\\n' % (os.environ['CONVERGE_RUN_ID'], os.environ.get('CONVERGE_DEVICE', '-'), start, time.time()))
`;

interface Sweep {
  dir: string;
  db: string;
  mode(m: 'fast' | 'hang' | 'fail' | 'span' | 'second-ok'): void;
  run(args?: string[]): { finished: Promise<Finished>; pid: number; kill(s: NodeJS.Signals): void };
  pids(): number[];
  alive(): number[];
  rows<T>(sql: string): T[];
  starts(): string[];
}

function sweep(t: TestContext, repeats: number): Sweep {
  // Registered before the sandbox's removal, so it runs first: it needs pids/.
  t.after(() => {
    for (const pid of s.alive()) process.kill(pid, 'SIGKILL');
  });
  const dir = sandbox(t);
  mkdirSync(join(dir, 'pids'));
  writeFileSync(join(dir, 'train.py'), TRAINER);
  writeFileSync(join(dir, 'sweep.yaml'), `name: user\nseed: 1\nrepeats: ${repeats}\ntrainer: {command: [${JSON.stringify(PYTHON)}, train.py, "{seed}"]}\nconverged: {metric: pop_mae, below: 0.05}\n`);
  const db = join(dir, 'user.db');
  const s: Sweep = {
    dir,
    db,
    mode: (m) => writeFileSync(join(dir, 'MODE'), m),
    run(args = []) {
      const child = spawn(process.execPath, [USER_CLI, 'run', 'sweep.yaml', '--db', db, ...args], {
        cwd: dir,
        env: { ...process.env, CONVERGE_FAULT: ''},
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.setEncoding('utf8').on('data', (x: string) => (out += x));
      child.stderr.setEncoding('utf8').on('data', (x: string) => (err += x));
      const finished = new Promise<Finished>((r) => child.on('close', (code, signal) => r({ code, signal, stdout: out, stderr: err })));
      t.after(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      return { finished, pid: child.pid!, kill: (sig) => child.kill(sig) };
    },
    pids: () => (existsSync(join(dir, 'pids')) ? readdirSync(join(dir, 'pids')).map(Number) : []),
    alive: () => s.pids().filter(running),
    rows<T>(sql: string): T[] {
      const h = new Database(db, { readonly: true });
      try {
        return h.prepare(sql).all() as T[];
      } finally {
        h.close();
      }
    },
    starts: () => (existsSync(join(dir, 'starts.log')) ? readFileSync(join(dir, 'starts.log'), 'utf8').trim().split('\n') : []),
  };
  return s;
}

/** Waits until `n` trainer processes (leaders and their children) have started. */
function started(s: Sweep, n: number): Promise<unknown> {
  return waitFor(`${n} trainer processes`, () => s.pids().length >= n, 30_000);
}

describe('command trainers end to end', () => {
  for (const [signal, exit] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${signal} to converge ends every trainer process (children ignoring SIGTERM too), and the resume retrains only the runs that were in flight`, async (t) => {
      const s = sweep(t, 4);
      s.mode('hang');
      const run = s.run(['--workers', '2', '--grace', '0.5']);
      await started(s, 4); // two leaders, two forked children
      run.kill(signal);
      const r = await run.finished;
      assert.equal(r.code, exit, r.stderr);
      assert.deepEqual(s.alive(), [], 'no trainer process outlives converge');
      const inFlight = new Set(s.starts());
      assert.equal(inFlight.size, 2);
      assert.deepEqual(s.rows(`SELECT status, count(*) AS n FROM runs GROUP BY status`), [{ status: 'pending', n: 4 }]);
      s.mode('fast');
      const resumed = await s.run(['--workers', '2']).finished;
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.deepEqual(s.rows(`SELECT status, count(*) AS n FROM runs GROUP BY status`), [{ status: 'done', n: 4 }]);
      // Each run started once after the interrupt: the two in flight again, the two never started.
      assert.equal(s.starts().length, 2 + 4);
      // The whole output of each run is kept in its attempt's folder beside the database.
      for (const row of s.rows<{ id: number; attempts: number; log_path: string }>(`SELECT id, attempts, log_path FROM runs`)) {
        assert.equal(row.log_path, join(`${s.db}.runs`, `${row.id}-${row.attempts}`, 'output.log'));
        assert.ok(existsSync(row.log_path));
      }
    });
  }

  it('a second Ctrl-C stops at once and still leaves no trainer process behind', async (t) => {
    const s = sweep(t, 2);
    s.mode('hang');
    const run = s.run(['--workers', '2', '--grace', '60']);
    await started(s, 4);
    run.kill('SIGINT');
    // The grace period (60 s) is what the second Ctrl-C cuts short.
    await new Promise((r) => setTimeout(r, 300));
    run.kill('SIGINT');
    const r = await run.finished;
    assert.equal(r.code, 130, r.stderr);
    assert.match(r.stderr, /stopped at once/);
    await waitFor('the killed groups to be gone', () => s.alive().length === 0, 5000);
  });

  it('--timeout ends each run\'s process group and records the runs timed_out', async (t) => {
    const s = sweep(t, 2);
    s.mode('hang');
    const r = await s.run(['--workers', '2', '--timeout', '1', '--grace', '0.5']).finished;
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(s.alive(), []);
    assert.ok(s.pids().length >= 4);
    assert.deepEqual(s.rows(`SELECT status, outcome FROM runs`), [
      { status: 'failed', outcome: 'timed_out' },
      { status: 'failed', outcome: 'timed_out' },
    ]);
  });

  it('after kill -9 of converge, the next run ends the orphans it left before retraining their runs, and writes nothing twice', async (t) => {
    const s = sweep(t, 3);
    s.mode('hang');
    const run = s.run(['--workers', '2', '--grace', '0.5']);
    await started(s, 4);
    await waitFor('the processes recorded', () => s.rows<{ n: number }>(`SELECT count(*) AS n FROM runs WHERE process_json IS NOT NULL`)[0]!.n === 2);
    run.kill('SIGKILL');
    await run.finished;
    const orphans = s.alive();
    assert.equal(orphans.length, 4, 'kill -9 left the trainers running (nothing could end them)');
    s.mode('fast');
    const resumed = await s.run(['--workers', '2', '--grace', '0.5']).finished;
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.deepEqual(s.alive(), [], 'no orphan alive');
    assert.match(resumed.stderr, /ended the trainer processes a killed converge left running/);
    const runs = s.rows<{ id: number; status: string; epochs_run: number; process_json: string | null }>(`SELECT id, status, epochs_run, process_json FROM runs ORDER BY id`);
    assert.deepEqual(runs.map((r) => [r.status, r.epochs_run, r.process_json]), [['done', 3, null], ['done', 3, null], ['done', 3, null]]);
    // One row per epoch and metric: the retrained epochs replaced nothing twice, the orphans added none.
    assert.deepEqual(s.rows(`SELECT run_id, count(*) AS n FROM epochs GROUP BY run_id ORDER BY run_id`), runs.map((r) => ({ run_id: r.id, n: 3 })));
    assert.deepEqual(s.rows(`SELECT run_id, count(*) AS n FROM epoch_metrics GROUP BY run_id ORDER BY run_id`), runs.map((r) => ({ run_id: r.id, n: 6 })));
  });

  it('a command that always fails stops the sweep after 3 runs with the breaker\'s message', async (t) => {
    const s = sweep(t, 8);
    s.mode('fail');
    const r = await s.run(['--workers', '1']).finished;
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /the first 3 runs all failed, so no more runs were started \(--breaker 3; 0 turns it off\)/);
    assert.match(r.stderr, new RegExp(`${PYTHON.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} train.py \\d+ exited with status 1; the last lines of its stderr:\\nboom: no such column "lr"`));
    assert.deepEqual(s.rows(`SELECT status, count(*) AS n FROM runs GROUP BY status ORDER BY status`), [
      { status: 'failed', n: 3 },
      { status: 'pending', n: 5 },
    ]);
  });

  it('the breaker stays closed when one of the first 3 runs did not fail', async (t) => {
    const s = sweep(t, 6);
    s.mode('second-ok');
    const r = await s.run(['--workers', '1']).finished;
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /breaker/);
    assert.deepEqual(s.rows(`SELECT status, count(*) AS n FROM runs GROUP BY status ORDER BY status`), [
      { status: 'done', n: 1 },
      { status: 'failed', n: 5 },
    ]);
  });

  it('--breaker 0 turns the breaker off', async (t) => {
    const s = sweep(t, 4);
    s.mode('fail');
    const r = await s.run(['--workers', '2', '--breaker', '0']).finished;
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /breaker/);
    assert.deepEqual(s.rows(`SELECT status, count(*) AS n FROM runs GROUP BY status`), [{ status: 'failed', n: 4 }]);
  });

  it('--devices a,b with 4 workers never runs two runs on one device at once, and each run records its device', async (t) => {
    const s = sweep(t, 6);
    s.mode('span');
    const r = await s.run(['--workers', '4', '--devices', 'a,b']).finished;
    assert.equal(r.code, 0, r.stderr);
    const spans = readFileSync(join(s.dir, 'spans.log'), 'utf8')
      .trim()
      .split('\n')
      .map((line) => {
        const [run, device, start, end] = line.split(' ');
        return { run: Number(run), device: device!, start: Number(start), end: Number(end) };
      });
    assert.equal(spans.length, 6);
    for (const a of spans) {
      assert.ok(a.device === 'a' || a.device === 'b');
      for (const b of spans) if (a !== b && a.device === b.device) assert.ok(a.end <= b.start || b.end <= a.start, `runs ${a.run} and ${b.run} overlapped on device ${a.device}`);
    }
    const recorded = s.rows<{ id: number; device: string }>(`SELECT id, device FROM runs ORDER BY id`);
    assert.deepEqual(recorded.map((x) => x.device), recorded.map((x) => spans.find((sp) => sp.run === x.id)!.device));
  });
});
