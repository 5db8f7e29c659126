/**
 * SweepExecution with a command trainer, driven directly (a hand-built spec and plan, as the CLI
 * would make them): the fence on every write of a user run.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { expandPlan } from '../../src/grid';
import { parseSpec } from '../../src/spec';
import { closeDb, openDb, ownerId, syncPlan } from '../../src/store';
import { SweepExecution } from '../../src/sweep/execute';
import { CommandExecutor } from '../../src/trainer/command-executor';
import { tempDir } from '../helpers';
import { PYTHON, running } from '../trainer/python';

test('a user run whose claim another process took over is stopped here, its process group ended, and nothing more is written by this runner', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'lost.db');
  writeFileSync(
    join(dir, 'train.py'),
    `import json, os, time
open(os.path.join(${JSON.stringify(dir)}, 'pid'), 'w').write(str(os.getpid()))
with open(os.environ['CONVERGE_METRICS'], 'a') as f:
    f.write(json.dumps({'epoch': 1, 'loss': 1.0}) + '\\n')
    f.flush()
    time.sleep(600)
`,
  );
  const built = parseSpec(`name: lost\nseed: 1\nrepeats: 1\ndata: {seq_len: 20, n_samples: 20}\ntrain: {epochs: 2}\n`, 'lost.yaml');
  const spec = { ...built, trainer: { kind: 'command' as const, command: [PYTHON, 'train.py'], cwd: dir } };
  const db = openDb(file);
  try {
    syncPlan(db, file, spec, expandPlan(spec));
    const executor = new CommandExecutor({ command: spec.trainer.command, cwd: dir, workers: 1, graceMs: 200 });
    const lost: number[] = [];
    // Once the claim is lost nothing is left for this runner but to wait for the other process: stop it then.
    const execution: SweepExecution = new SweepExecution({
      db,
      spec,
      executor,
      owner: ownerId(),
      retries: 0,
      timeoutSeconds: 0,
      leaseSeconds: 0.4,
      runsDir: `${file}.runs`,
      events: {
        onClaimLost: (r) => {
          lost.push(r.id);
          execution.stop();
        },
      },
    });
    const done = execution.execute();
    // The first epoch is recorded: the run is under way. Then another process takes it over.
    const pidFile = join(dir, 'pid');
    for (;;) {
      const n = db.prepare(`SELECT count(*) FROM epoch_metrics`).pluck().get() as number;
      if (n > 0 && existsSync(pidFile)) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    db.prepare(`UPDATE runs SET owner = 'other-host/1/-/x', lease_until = 1e12`).run();
    const result = await done;
    assert.deepEqual(lost, [1]);
    assert.equal(result.trained, 0);
    assert.equal(running(Number(readFileSync(pidFile, 'utf8'))), false, "the run's process was ended");
    const row = db.prepare(`SELECT status, owner, outcome FROM runs`).get();
    assert.deepEqual(row, { status: 'running', owner: 'other-host/1/-/x', outcome: null }, 'the other process still holds it, untouched');
    await executor.close();
  } finally {
    closeDb(db);
  }
});
