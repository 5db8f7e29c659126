import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { endOrphanGroup, processRecordOf, type ProcessRecord } from '../../src/trainer';
import { tempDir } from '../helpers';
import { python, running } from './python';

/**
 * What a converge killed with kill -9 leaves behind: a trainer leading its own process group,
 * with a child, that nobody waits for any more. The test process plays the dead converge: it
 * keeps only the record, as the database would.
 */
async function orphan(code: string): Promise<{ record: ProcessRecord; child: number; leader: number }> {
  const dir = tempDir('i18-command-');
  const [program, ...args] = python(code, dir);
  const p = spawn(program!, args, { detached: true, stdio: 'ignore' });
  p.unref();
  const record = processRecordOf(p.pid!);
  const file = join(dir, 'child.pid');
  const deadline = Date.now() + 10_000;
  while (!existsSync(file)) {
    if (Date.now() > deadline) assert.fail('the orphan did not start its child');
    await sleep(20);
  }
  return { record, child: Number(readFileSync(file, 'utf8')), leader: p.pid! };
}

const WITH_CHILD = `
import os, subprocess, sys, time
c = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
path = os.path.join(sys.argv[1], "child.pid")
open(path + ".tmp", "w").write(str(c.pid))
os.rename(path + ".tmp", path)
time.sleep(60)
`;

/** The same, but the leader exits at once, leaving its child in the group. */
const LEADER_EXITS = WITH_CHILD.replace(/time\.sleep\(60\)\n$/, 'sys.exit(0)\n');

describe('ending the orphans of a killed converge', () => {
  it('an orphaned trainer group whose leader still has the recorded start time is ended, child included', async () => {
    const { record, child, leader } = await orphan(WITH_CHILD);
    assert.equal(await endOrphanGroup(record, { graceMs: 500 }), 'ended');
    assert.equal(running(leader), false);
    assert.equal(running(child), false);
  });

  it('endOrphanGroup refuses a pid whose start time differs from the record (the pid was reused) and leaves it running', async () => {
    const { record, child, leader } = await orphan(WITH_CHILD);
    try {
      assert.equal(await endOrphanGroup({ ...record, startTicks: record.startTicks! - 1 }, { graceMs: 500 }), 'reused');
      assert.equal(running(leader), true);
      assert.equal(running(child), true);
    } finally {
      process.kill(-record.pgid, 'SIGKILL');
    }
  });

  it('the children a dead leader left in its group are still found and ended', async () => {
    const { record, child, leader } = await orphan(LEADER_EXITS);
    const deadline = Date.now() + 5000;
    while (running(leader) && Date.now() < deadline) await sleep(20);
    assert.equal(running(leader), false);
    assert.equal(running(child), true);
    assert.equal(await endOrphanGroup(record, { graceMs: 500 }), 'ended');
    assert.equal(running(child), false);
  });

  it('a group that no longer runs is reported gone, one recorded on another host or without a start time is left alone', async () => {
    const { record } = await orphan(WITH_CHILD);
    process.kill(-record.pgid, 'SIGKILL');
    const deadline = Date.now() + 5000;
    while (running(record.pid) && Date.now() < deadline) await sleep(20);
    assert.equal(await endOrphanGroup(record), 'gone');
    assert.equal(await endOrphanGroup({ ...record, host: 'another-host.example' }), 'other-host');
    const { startTicks: _ignored, ...noStart } = record;
    assert.equal(await endOrphanGroup(noStart), 'unverifiable');
    assert.equal(await endOrphanGroup({ ...record, bootId: 'a-previous-boot' }), 'gone');
  });
});
